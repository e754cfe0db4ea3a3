// The orders service: orders and their lines, and the order state machine
//
//   pending_payment --pay--> paid
//         \--cancel (user) / timeout--> cancelled
//
// Every transition is one conditional UPDATE (`... WHERE status = 'pending_payment'`),
// so when a cancel, the timeout and a payment race, exactly one wins. Stock lives in
// the inventory service, reached through its interface only (maybe over gRPC): no
// transaction spans the two services. What keeps them consistent:
// - place: inventory reserves first (idempotent by order number, which is derived from
//   the user and requestId, so a concurrent retry reserves the same thing once); the
//   order is inserted after; a failed insert releases the reservation.
// - cancel / timeout: the order is cancelled, then its reservation released
//   (idempotent: stock comes back once).
// - paid: the order is marked paid (by one payment id), then its reservation committed.
// - crashes between those steps: the timeout job (`expireDue`) also settles old
//   reservations: no order (a tombstone row makes a late insert fail) or a cancelled
//   one: released; a paid one: committed.
// Owns the `orders` and `order_items` tables.
import { createHash } from 'node:crypto';
import { type Clock, type EventSource, systemClock, TypedEmitter } from 'girder/core';
import type { CatalogService } from '../catalog/service.js';
import type { Db, OrderStatus } from '../db/schema.js';
import { conflict, notFound, ShopError } from '../errors.js';
import type { InventoryService, StockLine } from '../inventory/service.js';
import { type OrderRows, plainOrderRows } from './order-rows.js';

export interface OrderItem {
  productId: number;
  name: string;
  unitPriceCents: number;
  quantity: number;
}

export interface Order {
  orderNo: string;
  userId: string;
  requestId: string;
  status: OrderStatus;
  totalCents: number;
  items: OrderItem[];
  createdAt: Date;
  expiresAt: Date;
  paidAt: Date | null;
  cancelledAt: Date | null;
  cancelReason: 'user' | 'timeout' | null;
}

/** What `markPaid` found: it marked the order paid, or the order was not payable. */
export type PaidOutcome = 'paid' | 'already_paid' | 'cancelled' | 'not_found';

export type OrderEvents = {
  /** Emitted after the commit: `productIds` had their stock taken. */
  placed: { orderNo: string; totalCents: number; productIds: number[] };
  /** A request for an existing `requestId` returned the order placed the first time. */
  replayed: { orderNo: string };
  outOfStock: { productId: number };
  /** Emitted after the commit: `productIds` had their stock returned. */
  cancelled: { orderNo: string; reason: 'user' | 'timeout'; productIds: number[] };
  paid: { orderNo: string };
};

export interface OrdersService {
  /**
   * Place an order: all lines are taken from stock in one transaction, or none
   * (`OUT_OF_STOCK` 409 naming the product). The same `requestId` (per user) returns
   * the first order (`created: false`) and never deducts twice; with other lines it is
   * `REQUEST_ID_REUSED` (409). Unknown products: `PRODUCT_NOT_FOUND` (404).
   */
  place(
    userId: string,
    requestId: string,
    lines: readonly StockLine[],
  ): Promise<{ order: Order; created: boolean }>;
  /** The user's orders, newest first (at most `limit`). */
  list(userId: string, limit?: number): Promise<Order[]>;
  /** An order, only if it belongs to `userId` (when given). */
  get(orderNo: string, userId?: string): Promise<Order | null>;
  /**
   * Cancel a pending order and return its stock. Cancelling a cancelled order returns
   * it unchanged; a paid one is `ORDER_ALREADY_PAID` (409); not the user's: 404.
   */
  cancel(userId: string, orderNo: string): Promise<Order>;
  /**
   * Mark a pending order paid by `paymentId`, then commit its stock reservation.
   * Idempotent per payment: the same payment again is `paid` again (and commits again,
   * harmlessly); another payment of a paid order is `already_paid`.
   */
  markPaid(orderNo: string, paymentId: string): Promise<PaidOutcome>;
  /** Cancel every pending order whose payment deadline has passed; resolves how many. */
  expireDue(): Promise<number>;
  /**
   * Units sold (paid orders) per product, one keyset page: products with an id above
   * `afterProductId`, ascending, at most `limit` (the popular page's ranking source).
   */
  unitsSoldPage(
    afterProductId: number | undefined,
    limit: number,
  ): Promise<Array<{ productId: number; sold: number }>>;
  readonly events: EventSource<OrderEvents>;
}

export interface OrdersServiceOptions {
  db: Db;
  catalog: CatalogService;
  inventory: InventoryService;
  /** How long an order may stay unpaid (also how old a reservation without its order must be before the sweep releases it). */
  paymentTimeoutMs: number;
  clock?: Clock;
  /**
   * Awaited after a commit that took or returned stock (place, cancel, expiry), before
   * the call resolves: the catalog cache invalidates these products here.
   */
  stockChanged?: (productIds: number[]) => Promise<void>;
  /** Where the `orders` rows live. Default: the `orders` table of `db`. */
  rows?: OrderRows;
}

const ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
/**
 * The order number of a request: the day, and a digest of the user, the requestId and
 * the day. Deterministic, so two concurrent retries reserve stock under one id (once).
 */
const orderNoFor = (now: number, userId: string, requestId: string) => {
  const day = new Date(now).toISOString().slice(0, 10).replaceAll('-', '');
  const digest = createHash('sha256').update(`${day}\n${userId}\n${requestId}`).digest();
  const suffix = [...digest.subarray(0, 8)].map((b) => ALPHABET[b % ALPHABET.length]).join('');
  return `${day}-${suffix}`;
};

/** Orders written by the sweep in place of an order that never came (see `expireDue`). */
const TOMBSTONE_USER = '';
/** Reservations settled per sweep. */
const SWEEP_BATCH = 500;

const sameLines = (a: readonly StockLine[], b: readonly StockLine[]) =>
  a.length === b.length &&
  a.every((l) => b.some((m) => m.productId === l.productId && m.quantity === l.quantity));

/** Merge lines naming the same product. */
const mergeLines = (lines: readonly StockLine[]): StockLine[] => {
  const merged = new Map<number, number>();
  for (const l of lines) merged.set(l.productId, (merged.get(l.productId) ?? 0) + l.quantity);
  return [...merged].map(([productId, quantity]) => ({ productId, quantity }));
};

export function ordersService(options: OrdersServiceOptions): OrdersService {
  const { db, catalog, inventory, paymentTimeoutMs } = options;
  const stockChanged = options.stockChanged ?? (async () => {});
  const clock = options.clock ?? systemClock;
  const events = new TypedEmitter<OrderEvents>();
  const orderRows = options.rows ?? plainOrderRows(db);

  const load = async (
    where: { orderNo?: string; userId?: string; requestId?: string },
    limit = 1,
  ) => {
    const rows = await orderRows.find(where, limit);
    if (rows.length === 0) return [];
    const items = await db
      .selectFrom('order_items')
      .selectAll()
      .where(
        'order_no',
        'in',
        rows.map((r) => r.order_no),
      )
      .orderBy('product_id')
      .execute();
    return rows.map(
      (r): Order => ({
        orderNo: r.order_no,
        userId: r.user_id,
        requestId: r.request_id,
        status: r.status,
        totalCents: r.total_cents,
        items: items
          .filter((i) => i.order_no === r.order_no)
          .map((i) => ({
            productId: i.product_id,
            name: i.name,
            unitPriceCents: i.unit_price_cents,
            quantity: i.quantity,
          })),
        createdAt: r.created_at,
        expiresAt: r.expires_at,
        paidAt: r.paid_at,
        cancelledAt: r.cancelled_at,
        cancelReason: r.cancel_reason,
      }),
    );
  };

  const replay = async (userId: string, requestId: string, lines: StockLine[]) => {
    const [existing] = await load({ userId, requestId });
    if (!existing) return undefined;
    if (!sameLines(existing.items, lines)) {
      throw conflict('REQUEST_ID_REUSED', 'this requestId was used for a different order', {
        requestId,
        orderNo: existing.orderNo,
      });
    }
    events.emit('replayed', { orderNo: existing.orderNo });
    return { order: existing, created: false };
  };

  /** pending_payment -> cancelled, then the stock returned; the product ids, or nothing. */
  const cancelPending = async (orderNo: string, reason: 'user' | 'timeout', userId?: string) => {
    const productIds = await orderRows.transaction(async (tx, orders) => {
      const now = new Date(clock.now());
      const cancelled = await orders.transition(orderNo, {
        set: { status: 'cancelled', cancel_reason: reason, cancelled_at: now, updated_at: now },
        from: 'pending_payment',
        ...(userId !== undefined && { userId }),
        ...(reason === 'timeout' && { expiredBy: now }),
      });
      if (!cancelled) return undefined;
      const lines = await tx
        .selectFrom('order_items')
        .select('product_id')
        .where('order_no', '=', orderNo)
        .execute();
      return lines.map((l) => l.product_id);
    });
    // After the commit: a crash here leaves the reservation to the sweep (released once).
    if (productIds) await inventory.release(orderNo);
    return productIds;
  };

  /**
   * Settle reservations older than the payment timeout whose order is not pending: no
   * order (placement died between reserve and insert: a cancelled tombstone takes the
   * order number, so a late insert fails), a cancelled order: release; a paid one: commit.
   */
  const settleStale = async (): Promise<void> => {
    const before = new Date(clock.now() - paymentTimeoutMs);
    const ids = await inventory.unsettled(before, SWEEP_BATCH);
    if (ids.length === 0) return;
    const rows = await orderRows.find({ orderNos: ids }, ids.length);
    const status = new Map(rows.map((r) => [r.order_no, r.status]));
    for (const id of ids) {
      let current = status.get(id);
      if (current === undefined) {
        const now = new Date(clock.now());
        current = await orderRows.transaction(async (_tx, orders) => {
          await orders.insert({
            order_no: id,
            user_id: TOMBSTONE_USER,
            request_id: id,
            status: 'cancelled',
            total_cents: 0,
            cancel_reason: 'timeout',
            expires_at: now,
            created_at: now,
            updated_at: now,
            paid_at: null,
            cancelled_at: now,
            paid_by: null,
          });
          // The placeholder, or the order a late placement inserted just before it.
          return (await orders.current(id))?.status;
        });
      }
      // Idempotent both: a cancel or payment racing the sweep settles it once.
      if (current === 'cancelled') await inventory.release(id);
      else if (current === 'paid') await inventory.commit(id);
    }
  };

  return {
    events,

    async place(userId, requestId, rawLines) {
      const lines = mergeLines(rawLines);
      const again = await replay(userId, requestId, lines);
      if (again) return again;

      const products = await catalog.getMany(lines.map((l) => l.productId));
      const missing = lines.find((l) => !products.has(l.productId));
      if (missing) {
        throw notFound('PRODUCT_NOT_FOUND', `no product ${missing.productId}`, {
          productId: missing.productId,
        });
      }
      const items = lines.map((l) => {
        const p = products.get(l.productId)!;
        return {
          productId: p.id,
          name: p.name,
          unitPriceCents: p.priceCents,
          quantity: l.quantity,
        };
      });
      const totalCents = items.reduce((sum, i) => sum + i.unitPriceCents * i.quantity, 0);
      const now = clock.now();
      const orderNo = orderNoFor(now, userId, requestId);

      try {
        await inventory.reserve(orderNo, lines);
      } catch (err) {
        if (err instanceof ShopError && err.code === 'OUT_OF_STOCK') {
          const productId = err.details?.productId as number;
          const name = products.get(productId)?.name ?? `product ${productId}`;
          events.emit('outOfStock', { productId });
          throw conflict(
            'OUT_OF_STOCK',
            `not enough stock for "${name}": ${String(err.details?.requested)} requested, ${String(err.details?.available)} available`,
            { ...err.details, name },
          );
        }
        throw err;
      }
      /** Give the reservation back unless an order (a concurrent twin's) holds it. */
      const releaseUnlessOrdered = async () => {
        const [owner] = await orderRows.find({ orderNo }, 1);
        if (!owner || owner.status === 'cancelled') await inventory.release(orderNo);
      };

      let inserted: boolean;
      try {
        inserted = await orderRows.transaction(async (tx, orders) => {
          // A concurrent request with the same requestId waits here until ours ends.
          const created = await orders.insert({
            order_no: orderNo,
            user_id: userId,
            request_id: requestId,
            status: 'pending_payment',
            total_cents: totalCents,
            cancel_reason: null,
            expires_at: new Date(now + paymentTimeoutMs),
            created_at: new Date(now),
            updated_at: new Date(now),
            paid_at: null,
            cancelled_at: null,
            paid_by: null,
          });
          if (!created) return false;
          await tx
            .insertInto('order_items')
            .values(
              items.map((i) => ({
                order_no: orderNo,
                product_id: i.productId,
                name: i.name,
                unit_price_cents: i.unitPriceCents,
                quantity: i.quantity,
              })),
            )
            .execute();
          return true;
        });
      } catch (err) {
        await releaseUnlessOrdered().catch(() => {}); // else the sweep releases it
        throw err;
      }
      if (!inserted) {
        await releaseUnlessOrdered();
        const raced = await replay(userId, requestId, lines);
        if (raced) return raced;
        throw new Error(`order for requestId ${requestId} vanished`);
      }
      const productIds = lines.map((l) => l.productId);
      await stockChanged(productIds);
      events.emit('placed', { orderNo, totalCents, productIds });
      const [order] = await load({ orderNo });
      return { order: order!, created: true };
    },

    list: (userId, limit = 100) => load({ userId }, limit),

    async get(orderNo, userId) {
      const [order] = await load(userId === undefined ? { orderNo } : { orderNo, userId });
      return order ?? null;
    },

    async cancel(userId, orderNo) {
      const returned = await cancelPending(orderNo, 'user', userId);
      if (returned) {
        await stockChanged(returned);
        events.emit('cancelled', { orderNo, reason: 'user', productIds: returned });
      }
      const [order] = await load({ orderNo, userId });
      if (!order) throw notFound('ORDER_NOT_FOUND', `no order ${orderNo}`, { orderNo });
      if (order.status === 'paid') {
        throw conflict('ORDER_ALREADY_PAID', 'a paid order cannot be cancelled', { orderNo });
      }
      return order;
    },

    async markPaid(orderNo, paymentId) {
      const outcome = await orderRows.transaction(
        async (_tx, orders): Promise<PaidOutcome | 'again'> => {
          const now = new Date(clock.now());
          const paid = await orders.transition(orderNo, {
            set: { status: 'paid', paid_at: now, paid_by: paymentId, updated_at: now },
            from: 'pending_payment',
          });
          if (paid) return 'paid';
          const current = await orders.current(orderNo);
          if (!current || current.user_id === TOMBSTONE_USER) return 'not_found';
          if (current.status === 'paid')
            return current.paid_by === paymentId ? 'again' : 'already_paid';
          return 'cancelled';
        },
      );
      if (outcome === 'paid') events.emit('paid', { orderNo });
      if (outcome !== 'paid' && outcome !== 'again') return outcome;
      // After the commit; a failure here is settled by a redelivery or the sweep.
      await inventory.commit(orderNo).catch(() => false);
      return 'paid';
    },

    async expireDue() {
      const due = await orderRows.dueForExpiry(new Date(clock.now()), SWEEP_BATCH);
      let cancelled = 0;
      for (const order_no of due) {
        const returned = await cancelPending(order_no, 'timeout');
        if (returned) {
          cancelled++;
          await stockChanged(returned);
          events.emit('cancelled', { orderNo: order_no, reason: 'timeout', productIds: returned });
        }
      }
      await settleStale();
      return cancelled;
    },

    unitsSoldPage: (afterProductId, limit) => orderRows.unitsSoldPage(afterProductId ?? 0, limit),
  };
}
