// The payments service: payments against orders and the provider's callbacks. Owns the
// `payments` and `payment_events` tables.
//
// A callback is recorded (by the provider's event id) in the same transaction as its
// effect, so a repeated callback changes nothing. A callback for an order that is no
// longer payable (cancelled, or already paid by another payment) is kept and the money
// refunded; a refund that fails stays `refund_pending` and is retried later.
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
  /** Try again the refunds that failed; resolves how many went through. */
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
  /** Called in the callback's transaction when an order becomes paid (the outbox row). */
  onPaid?: (tx: Db, orderNo: string) => Promise<void>;
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
      const result = await db.transaction().execute(async (tx) => {
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
        const recorded = await tx
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
        const finish = async (outcome: CallbackOutcome, status?: PaymentStatus) => {
          if (status !== undefined) {
            await tx
              .updateTable('payments')
              .set({ status, provider_payment_id: event.providerPaymentId, updated_at: now })
              .where('id', '=', payment.id)
              .execute();
          }
          if (outcome !== 'duplicate') {
            await tx
              .updateTable('payment_events')
              .set({ outcome })
              .where('event_id', '=', event.eventId)
              .execute();
          }
          return { outcome, orderNo: payment.order_no, paymentId: payment.id };
        };
        if (!recorded) return finish('duplicate');
        if (event.amountCents !== payment.amount_cents) return finish('amount_mismatch');
        if (payment.status !== 'created') return finish('already_processed');
        if (event.status !== 'succeeded') return finish('payment_failed');
        const paid = await orders.markPaid(payment.order_no, { tx });
        if (paid === 'paid') {
          await options.onPaid?.(tx, payment.order_no);
          return finish('paid', 'succeeded');
        }
        // The money arrived for an order that cannot take it: keep the record, give it back.
        return finish(
          paid === 'already_paid' ? 'refund_already_paid' : 'refund_cancelled_order',
          'refund_pending',
        );
      });
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
