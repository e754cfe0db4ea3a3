// The payments service: payments against orders and the provider's callbacks. Owns the
// `payments` and `payment_events` tables.
//
// A callback is recorded (by the provider's event id) in payments' own transaction, so a
// repeated callback changes nothing. Orders are another service (maybe over gRPC): no
// transaction spans both. A successful callback is applied in three steps, each
// idempotent: (1) record the event (`received`); (2) ask orders to mark the order paid
// by this payment; (3) in a second transaction, settle the payment and, when the order
// took it, write the `order.paid` outbox row. A crash after (1) leaves the event
// `received`; the refund job finishes it (`retryPendingRefunds`). A callback for an
// order that is no longer payable (cancelled, or already paid by another payment) is
// kept and the money refunded; a refund that fails stays `refund_pending` and is retried.
import { randomUUID } from 'node:crypto';
import {
  type Clock,
  type EventSource,
  isGirderError,
  systemClock,
  TypedEmitter,
} from 'girder/core';
import type { Db, PaymentStatus } from '../db/schema.js';
import { badRequest, conflict, notFound, ShopError, unavailable } from '../errors.js';
import type { OrderPaidEvent } from '../notifications/order-paid.js';
import type { OrdersService } from '../orders/service.js';
import type { PaymentProvider } from './provider.js';

export interface Payment {
  id: string;
  orderNo: string;
  amountCents: number;
  status: PaymentStatus;
  payUrl: string | null;
  createdAt: Date;
}

/** A provider callback, after its signature was checked. */
export interface ProviderEvent {
  eventId: string;
  /** Our payment id (`merchantRef` of the payment). */
  merchantRef: string;
  providerPaymentId: string;
  status: 'succeeded' | 'failed';
  amountCents: number;
}

export type CallbackOutcome =
  | 'paid'
  | 'duplicate'
  | 'already_processed'
  | 'payment_failed'
  | 'refund_cancelled_order'
  | 'refund_already_paid'
  | 'amount_mismatch';

export type PaymentEvents = {
  started: { paymentId: string; orderNo: string };
  callback: { outcome: CallbackOutcome };
  refunded: { paymentId: string };
  refundFailed: { paymentId: string; error: unknown };
};

export interface PaymentsService {
  /** Start (or resume) paying an order: the provider's checkout URL. */
  start(userId: string, orderNo: string): Promise<{ paymentId: string; paymentUrl: string }>;
  /** Apply a verified provider callback. Unknown payment: `PAYMENT_NOT_FOUND` (404). */
  handleCallback(
    event: ProviderEvent,
    rawPayload: string,
  ): Promise<{ outcome: CallbackOutcome; orderNo: string }>;
  /**
   * Finish callbacks left half-applied by a crash, then try again the refunds that
   * failed; resolves how many refunds went through.
   */
  retryPendingRefunds(): Promise<number>;
  /** The payments of an order, oldest first. */
  forOrder(orderNo: string): Promise<Payment[]>;
  readonly events: EventSource<PaymentEvents>;
}

export interface PaymentsServiceOptions {
  db: Db;
  orders: OrdersService;
  /** The provider, already wrapped in breaker + retry. */
  provider: PaymentProvider;
  /** Base URL the provider reaches the shop at, for callbacks (known only after listen). */
  callbackBaseUrl: () => string;
  /** Base URL browsers reach the shop at, for the return link after paying. */
  returnBaseUrl: () => string;
  clock?: Clock;
  /** Called in the transaction settling a payment that paid its order (the outbox row). */
  onPaid?: (tx: Db, event: OrderPaidEvent) => Promise<void>;
}

export function paymentsService(options: PaymentsServiceOptions): PaymentsService {
  const { db, orders, provider, callbackBaseUrl, returnBaseUrl } = options;
  const clock = options.clock ?? systemClock;
  const events = new TypedEmitter<PaymentEvents>();

  const providerCall = async <T>(work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (err) {
      if (isGirderError(err, 'CIRCUIT_OPEN')) {
        throw unavailable(
          'PAYMENT_PROVIDER_UNAVAILABLE',
          'the payment provider is unavailable; try again shortly',
        );
      }
      if (err instanceof ShopError) throw err;
      throw unavailable(
        'PAYMENT_PROVIDER_FAILED',
        'the payment provider did not answer; try again',
      );
    }
  };

  const refund = async (paymentId: string): Promise<boolean> => {
    const payment = await db
      .selectFrom('payments')
      .selectAll()
      .where('id', '=', paymentId)
      .where('status', '=', 'refund_pending')
      .executeTakeFirst();
    if (!payment?.provider_payment_id) return false;
    try {
      await provider.refund({
        providerPaymentId: payment.provider_payment_id,
        amountCents: payment.amount_cents,
        merchantRef: payment.id,
      });
    } catch (error) {
      events.emit('refundFailed', { paymentId, error });
      return false;
    }
    const done = await db
      .updateTable('payments')
      .set({ status: 'refunded', updated_at: new Date(clock.now()) })
      .where('id', '=', paymentId)
      .where('status', '=', 'refund_pending')
      .returning('id')
      .executeTakeFirst();
    if (done) events.emit('refunded', { paymentId });
    return done !== undefined;
  };

  /**
   * Steps (2) and (3) of a successful callback: orders marks the order paid by this
   * payment (idempotent), then the payment and the event are settled in one transaction
   * that also holds the outbox row. Safe to run twice for one event.
   */
  const confirm = async (eventId: string, paymentId: string, orderNo: string) => {
    const order = await orders.get(orderNo);
    const paid = await orders.markPaid(orderNo, paymentId);
    return db.transaction().execute(async (tx) => {
      const now = new Date(clock.now());
      const outcome: CallbackOutcome =
        paid === 'paid'
          ? 'paid'
          : paid === 'already_paid'
            ? 'refund_already_paid'
            : 'refund_cancelled_order';
      const claimed = await tx
        .updateTable('payment_events')
        .set({ outcome })
        .where('event_id', '=', eventId)
        .where('outcome', '=', 'received')
        .returning('event_id')
        .executeTakeFirst();
      if (!claimed) return { outcome: 'duplicate' as CallbackOutcome, orderNo, paymentId };
      const settled = await tx
        .updateTable('payments')
        .set({ status: paid === 'paid' ? 'succeeded' : 'refund_pending', updated_at: now })
        .where('id', '=', paymentId)
        .where('status', '=', 'created')
        .returning('id')
        .executeTakeFirst();
      if (!settled) {
        await tx
          .updateTable('payment_events')
          .set({ outcome: 'already_processed' })
          .where('event_id', '=', eventId)
          .execute();
        return { outcome: 'already_processed' as CallbackOutcome, orderNo, paymentId };
      }
      if (paid === 'paid' && order) {
        await options.onPaid?.(tx, {
          orderNo,
          userId: order.userId,
          totalCents: order.totalCents,
          items: order.items.map((i) => ({ productId: i.productId, quantity: i.quantity })),
          paymentId,
        });
      }
      return { outcome, orderNo, paymentId };
    });
  };

  return {
    events,

    async start(userId, orderNo) {
      const order = await orders.get(orderNo, userId);
      if (!order) throw notFound('ORDER_NOT_FOUND', `no order ${orderNo}`, { orderNo });
      if (order.status === 'paid')
        throw conflict('ORDER_ALREADY_PAID', 'this order is already paid', { orderNo });
      if (order.status === 'cancelled') {
        throw conflict('ORDER_NOT_PAYABLE', 'this order was cancelled', {
          orderNo,
          reason: order.cancelReason,
        });
      }
      const now = new Date(clock.now());
      // One open payment per order (a partial unique index); a second click resumes it.
      await db
        .insertInto('payments')
        .values({
          id: randomUUID(),
          order_no: orderNo,
          user_id: userId,
          amount_cents: order.totalCents,
          status: 'created',
          provider_payment_id: null,
          pay_url: null,
          created_at: now,
          updated_at: now,
        })
        .onConflict((oc) => oc.column('order_no').where('status', '=', 'created').doNothing())
        .execute();
      const payment = await db
        .selectFrom('payments')
        .selectAll()
        .where('order_no', '=', orderNo)
        .where('status', '=', 'created')
        .executeTakeFirst();
      if (!payment) throw conflict('ORDER_NOT_PAYABLE', 'this order is being paid', { orderNo });
      if (payment.pay_url) return { paymentId: payment.id, paymentUrl: payment.pay_url };

      const created = await providerCall(() =>
        provider.createPayment({
          merchantRef: payment.id,
          amountCents: payment.amount_cents,
          description: `Order ${orderNo}`,
          callbackUrl: `${callbackBaseUrl()}/api/payments/callback`,
          returnUrl: `${returnBaseUrl()}/#/orders/${encodeURIComponent(orderNo)}`,
        }),
      );
      await db
        .updateTable('payments')
        .set({
          provider_payment_id: created.providerPaymentId,
          pay_url: created.payUrl,
          updated_at: new Date(clock.now()),
        })
        .where('id', '=', payment.id)
        .execute();
      events.emit('started', { paymentId: payment.id, orderNo });
      return { paymentId: payment.id, paymentUrl: created.payUrl };
    },

    async handleCallback(event, rawPayload) {
      const recorded = await db.transaction().execute(async (tx) => {
        const now = new Date(clock.now());
        const payment = await tx
          .selectFrom('payments')
          .selectAll()
          .where('id', '=', event.merchantRef)
          .forUpdate()
          .executeTakeFirst();
        if (!payment) {
          throw notFound('PAYMENT_NOT_FOUND', `no payment ${event.merchantRef}`, {
            merchantRef: event.merchantRef,
          });
        }
        const fresh = await tx
          .insertInto('payment_events')
          .values({
            event_id: event.eventId,
            payment_id: payment.id,
            received_at: now,
            outcome: 'received',
            payload: rawPayload,
          })
          .onConflict((oc) => oc.column('event_id').doNothing())
          .returning('event_id')
          .executeTakeFirst();
        const finish = async (outcome: CallbackOutcome) => {
          if (outcome !== 'duplicate') {
            await tx
              .updateTable('payment_events')
              .set({ outcome })
              .where('event_id', '=', event.eventId)
              .execute();
          }
          return { outcome, orderNo: payment.order_no, paymentId: payment.id };
        };
        if (!fresh) return finish('duplicate');
        if (event.amountCents !== payment.amount_cents) return finish('amount_mismatch');
        if (payment.status !== 'created') return finish('already_processed');
        if (event.status !== 'succeeded') return finish('payment_failed');
        await tx
          .updateTable('payments')
          .set({ provider_payment_id: event.providerPaymentId, updated_at: now })
          .where('id', '=', payment.id)
          .execute();
        return { outcome: undefined, orderNo: payment.order_no, paymentId: payment.id };
      });
      const result =
        recorded.outcome === undefined
          ? await confirm(event.eventId, recorded.paymentId, recorded.orderNo)
          : { outcome: recorded.outcome, orderNo: recorded.orderNo, paymentId: recorded.paymentId };
      events.emit('callback', { outcome: result.outcome });
      if (result.outcome === 'amount_mismatch') {
        throw badRequest('AMOUNT_MISMATCH', 'the callback amount does not match the payment', {
          merchantRef: event.merchantRef,
        });
      }
      if (result.outcome.startsWith('refund_')) await refund(result.paymentId);
      return { outcome: result.outcome, orderNo: result.orderNo };
    },

    async retryPendingRefunds() {
      // Callbacks recorded but never settled (a crash between the steps), oldest first.
      const unsettled = await db
        .selectFrom('payment_events as e')
        .innerJoin('payments as p', 'p.id', 'e.payment_id')
        .select(['e.event_id', 'p.id', 'p.order_no'])
        .where('e.outcome', '=', 'received')
        .orderBy('e.received_at')
        .limit(100)
        .execute();
      for (const e of unsettled) {
        const { outcome } = await confirm(e.event_id, e.id, e.order_no);
        events.emit('callback', { outcome });
      }
      const pending = await db
        .selectFrom('payments')
        .select('id')
        .where('status', '=', 'refund_pending')
        .orderBy('updated_at')
        .limit(100)
        .execute();
      let done = 0;
      for (const { id } of pending) if (await refund(id)) done++;
      return done;
    },

    async forOrder(orderNo) {
      const rows = await db
        .selectFrom('payments')
        .selectAll()
        .where('order_no', '=', orderNo)
        .orderBy('created_at')
        .execute();
      return rows.map((r) => ({
        id: r.id,
        orderNo: r.order_no,
        amountCents: r.amount_cents,
        status: r.status,
        payUrl: r.pay_url,
        createdAt: r.created_at,
      }));
    },
  };
}
