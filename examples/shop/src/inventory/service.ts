// The inventory service: units available per product, and reservations that take units
// out for an order until it is paid (commit) or cancelled (release). Owns the
// `inventory` and `inventory_reservations` tables.
//
// Concurrency: a reservation deducts with one conditional UPDATE per product
// (`available = available - q WHERE available >= q`), which holds the row lock until
// the transaction ends, in product-id order so two multi-item orders cannot deadlock.
// Overselling is impossible whatever the interleaving; the girder/lock issue will put
// a distributed lock in front of it.
//
// Every call runs in inventory's own transaction: no caller passes one in, so the
// service can sit behind gRPC. Reserve, release and commit are idempotent per
// reservation id (the order number), which is what lets orders retry them and a
// crashed placement be cleaned up later (see `unsettled`).
import { type Clock, systemClock } from 'girder/core';
import { sql } from 'kysely';
import type { Db } from '../db/schema.js';
import { conflict } from '../errors.js';

export interface StockLine {
  productId: number;
  quantity: number;
}

export interface InventoryService {
  /** Units available now, per product id (0 for a product without a stock record). */
  stockOf(productIds: readonly number[]): Promise<Map<number, number>>;
  /** Set the units available for a product. */
  setStock(productId: number, available: number): Promise<number>;
  /**
   * Take every line out of stock, or none: `OUT_OF_STOCK` (409, with `productId`,
   * `requested`, `available`) for the first line that does not fit. Idempotent per
   * `reservationId`: reserving the same id again changes nothing.
   */
  reserve(reservationId: string, lines: readonly StockLine[]): Promise<void>;
  /** Put a reservation's units back; true only for the call that did it. */
  release(reservationId: string): Promise<boolean>;
  /** Mark a reservation's units sold; true only for the call that did it. */
  commit(reservationId: string): Promise<boolean>;
  /**
   * Ids of reservations still neither released nor committed that were made before
   * `before`, oldest first, at most `limit` (the orders sweep looks for ones whose
   * order was never written).
   */
  unsettled(before: Date, limit: number): Promise<string[]>;
}

export interface InventoryServiceOptions {
  db: Db;
  /** Stamps reservations (`unsettled` compares with it). Default `systemClock`. */
  clock?: Clock;
}

export function inventoryService({
  db,
  clock = systemClock,
}: InventoryServiceOptions): InventoryService {
  const inTx = <T>(work: (tx: Db) => Promise<T>) => db.transaction().execute(work);

  const settle = (reservationId: string, to: 'released' | 'committed', tx: Db) =>
    tx
      .updateTable('inventory_reservations')
      .set({ status: to, updated_at: sql<Date>`now()` })
      .where('reservation_id', '=', reservationId)
      .where('status', '=', 'reserved')
      .returning(['product_id', 'quantity'])
      .execute();

  return {
    async stockOf(productIds) {
      const stock = new Map(productIds.map((id) => [id, 0]));
      if (productIds.length === 0) return stock;
      const rows = await db
        .selectFrom('inventory')
        .select(['product_id', 'available'])
        .where('product_id', 'in', [...productIds])
        .execute();
      for (const r of rows) stock.set(r.product_id, r.available);
      return stock;
    },

    async setStock(productId, available) {
      const row = await db
        .insertInto('inventory')
        .values({ product_id: productId, available, updated_at: sql<Date>`now()` })
        .onConflict((oc) =>
          oc.column('product_id').doUpdateSet({ available, updated_at: sql<Date>`now()` }),
        )
        .returning('available')
        .executeTakeFirstOrThrow();
      return row.available;
    },

    async reserve(reservationId, lines) {
      const sorted = [...lines].sort((a, b) => a.productId - b.productId);
      if (sorted.length === 0) return;
      await inTx(async (tx) => {
        // The reservation rows first: a second reserve of the same id waits here for
        // the first to commit, then inserts nothing and deducts nothing.
        const inserted = await tx
          .insertInto('inventory_reservations')
          .values(
            sorted.map((l) => ({
              reservation_id: reservationId,
              product_id: l.productId,
              quantity: l.quantity,
              status: 'reserved' as const,
              created_at: new Date(clock.now()),
              updated_at: sql<Date>`now()`,
            })),
          )
          .onConflict((oc) => oc.columns(['reservation_id', 'product_id']).doNothing())
          .returning('product_id')
          .execute();
        if (inserted.length === 0) return;
        if (inserted.length !== sorted.length) {
          // Some products were already reserved under this id: another reservation, not
          // a repeat of this one. Refused whole (the rollback keeps the inserted rows out).
          throw conflict('RESERVATION_MISMATCH', `reservation ${reservationId} has other lines`, {
            reservationId,
          });
        }
        for (const line of sorted) {
          const row = await tx
            .updateTable('inventory')
            .set((eb) => ({
              available: eb('available', '-', line.quantity),
              updated_at: sql<Date>`now()`,
            }))
            .where('product_id', '=', line.productId)
            .where('available', '>=', line.quantity)
            .returning('available')
            .executeTakeFirst();
          if (row) continue;
          const current = await tx
            .selectFrom('inventory')
            .select('available')
            .where('product_id', '=', line.productId)
            .executeTakeFirst();
          // Throwing rolls the whole transaction back: no line stays deducted.
          throw conflict('OUT_OF_STOCK', `not enough stock for product ${line.productId}`, {
            productId: line.productId,
            requested: line.quantity,
            available: current?.available ?? 0,
          });
        }
      });
    },

    async release(reservationId) {
      return inTx(async (tx) => {
        const lines = await settle(reservationId, 'released', tx);
        for (const l of lines.sort((a, b) => a.product_id - b.product_id)) {
          await tx
            .updateTable('inventory')
            .set((eb) => ({
              available: eb('available', '+', l.quantity),
              updated_at: sql<Date>`now()`,
            }))
            .where('product_id', '=', l.product_id)
            .execute();
        }
        return lines.length > 0;
      });
    },

    async commit(reservationId) {
      return inTx(async (tx) => (await settle(reservationId, 'committed', tx)).length > 0);
    },

    async unsettled(before, limit) {
      const rows = await db
        .selectFrom('inventory_reservations')
        .select('reservation_id')
        .where('status', '=', 'reserved')
        .where('created_at', '<', before)
        .groupBy('reservation_id')
        .orderBy(sql`min(created_at)`)
        .limit(limit)
        .execute();
      return rows.map((r) => r.reservation_id);
    },
  };
}
