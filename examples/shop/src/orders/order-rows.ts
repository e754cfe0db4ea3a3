// The `orders` table behind the orders service: the few reads and writes the service
// makes, so that where the rows live can change without touching the state machine.
// `plainOrderRows` is the table in the main database (the default); the live-migration
// demo (../migration/) routes the same calls through girder/migrator's dual write.
import type { Db, OrderStatus } from '../db/schema.js';

/** One `orders` row as read back. */
export interface OrderRow {
  order_no: string;
  user_id: string;
  request_id: string;
  status: OrderStatus;
  total_cents: number;
  cancel_reason: 'user' | 'timeout' | null;
  expires_at: Date;
  created_at: Date;
  updated_at: Date;
  paid_at: Date | null;
  cancelled_at: Date | null;
  /** The payment that paid it (markPaid is idempotent per payment). */
  paid_by: string | null;
}

/** Which orders `find` returns (all given conditions hold). */
export interface OrderFilter {
  orderNo?: string;
  userId?: string;
  requestId?: string;
  /** Any of these order numbers. */
  orderNos?: readonly string[];
}

/** A status change: the columns set, and the conditions the row must meet for it. */
export interface OrderTransition {
  set: Partial<
    Pick<OrderRow, 'status' | 'cancel_reason' | 'cancelled_at' | 'paid_at' | 'paid_by'>
  > & {
    updated_at: Date;
  };
  /** The status the row must have now. */
  from: OrderStatus;
  /** Only the owner's order. */
  userId?: string;
  /** Only when `expires_at <= expiredBy`. */
  expiredBy?: Date;
}

/** Order-row writes made as part of one main-database transaction. */
export interface OrderWrites {
  /**
   * Insert a new order; false when the user already has one with this `request_id`, or
   * the order number is taken (by the sweep's cancelled placeholder).
   */
  insert(row: OrderRow): Promise<boolean>;
  /** Apply a conditional status change; false when the row does not meet the conditions. */
  transition(orderNo: string, change: OrderTransition): Promise<boolean>;
  /** The order's row now, as this transaction sees it. */
  current(orderNo: string): Promise<OrderRow | undefined>;
}

/** Where the `orders` rows live, for the orders service. */
export interface OrderRows {
  /** Matching orders, newest first, at most `limit`. */
  find(filter: OrderFilter, limit: number): Promise<OrderRow[]>;
  /** Numbers of pending orders whose deadline is at or before `now`, oldest deadline first. */
  dueForExpiry(now: Date, limit: number): Promise<string[]>;
  /** Units sold (paid orders) per product with an id above `afterProductId`, ascending. */
  unitsSoldPage(
    afterProductId: number,
    limit: number,
  ): Promise<Array<{ productId: number; sold: number }>>;
  /** Run `work` in a main-database transaction; its order writes go through `orders`. */
  transaction<T>(work: (tx: Db, orders: OrderWrites) => Promise<T>): Promise<T>;
}

/** The order writes of one transaction `tx` on the database holding the table. */
export function orderWritesOn(tx: Db): OrderWrites {
  return {
    async insert(row) {
      const inserted = await tx
        .insertInto('orders')
        .values(row)
        // A concurrent request with the same requestId waits here until its transaction
        // ends. Any conflict: the order number may be the sweep's placeholder's.
        .onConflict((oc) => oc.doNothing())
        .returning('order_no')
        .executeTakeFirst();
      return inserted !== undefined;
    },
    async transition(orderNo, change) {
      let q = tx
        .updateTable('orders')
        .set(change.set)
        .where('order_no', '=', orderNo)
        .where('status', '=', change.from);
      if (change.userId !== undefined) q = q.where('user_id', '=', change.userId);
      if (change.expiredBy !== undefined) q = q.where('expires_at', '<=', change.expiredBy);
      return (await q.returning('order_no').executeTakeFirst()) !== undefined;
    },
    current: (orderNo) =>
      tx.selectFrom('orders').selectAll().where('order_no', '=', orderNo).executeTakeFirst(),
  };
}

/** Matching orders read from `db`. */
export async function findOrders(db: Db, filter: OrderFilter, limit: number): Promise<OrderRow[]> {
  let q = db.selectFrom('orders').selectAll();
  if (filter.orderNo !== undefined) q = q.where('order_no', '=', filter.orderNo);
  if (filter.userId !== undefined) q = q.where('user_id', '=', filter.userId);
  if (filter.requestId !== undefined) q = q.where('request_id', '=', filter.requestId);
  if (filter.orderNos !== undefined) {
    if (filter.orderNos.length === 0) return [];
    q = q.where('order_no', 'in', filter.orderNos);
  }
  return q.orderBy('created_at', 'desc').orderBy('order_no').limit(limit).execute();
}

/** Pending orders past their deadline, read from `db`. */
export async function dueOrders(db: Db, now: Date, limit: number): Promise<string[]> {
  const rows = await db
    .selectFrom('orders')
    .select('order_no')
    .where('status', '=', 'pending_payment')
    .where('expires_at', '<=', now)
    .orderBy('expires_at')
    .limit(limit)
    .execute();
  return rows.map((r) => r.order_no);
}

/** Units sold per product, with `orders` and `order_items` in the same database `db`. */
export async function unitsSoldJoined(db: Db, afterProductId: number, limit: number) {
  const rows = await db
    .selectFrom('order_items as i')
    .innerJoin('orders as o', 'o.order_no', 'i.order_no')
    .select((eb) => ['i.product_id', eb.fn.sum<string | number>('i.quantity').as('sold')])
    .where('o.status', '=', 'paid')
    .where('i.product_id', '>', afterProductId)
    .groupBy('i.product_id')
    .orderBy('i.product_id')
    .limit(limit)
    .execute();
  return rows.map((r) => ({ productId: r.product_id, sold: Number(r.sold) }));
}

/** The `orders` table in the main database, exactly as the service always used it. */
export function plainOrderRows(db: Db): OrderRows {
  return {
    find: (filter, limit) => findOrders(db, filter, limit),
    dueForExpiry: (now, limit) => dueOrders(db, now, limit),
    unitsSoldPage: (after, limit) => unitsSoldJoined(db, after, limit),
    transaction: (work) => db.transaction().execute((tx) => work(tx, orderWritesOn(tx))),
  };
}
