// The inventory service: units available per product, and reservations that take units
// out for an order until it is paid (commit) or cancelled (release). Owns the
// `inventory` and `inventory_reservations` tables.
//
// Concurrency: a reservation deducts with one conditional UPDATE per product
// (`available = available - q WHERE available >= q`), which holds the row lock until
// the transaction ends, in product-id order so two multi-item orders cannot deadlock.
// Overselling is impossible whatever the interleaving; the girder/lock issue will put
// a distributed lock in front of it.
import { sql } from 'kysely';
import type { Db } from '../db/schema.js';
import { conflict } from '../errors.js';

export interface StockLine {
  productId: number;
  quantity: number;
}

/** Run inside the caller's transaction instead of a new one. */
export interface InTransaction {
  tx?: Db | undefined;
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
  reserve(
    reservationId: string,
    lines: readonly StockLine[],
    options?: InTransaction,
  ): Promise<void>;
  /** Put a reservation's units back; true only for the call that did it. */
  release(reservationId: string, options?: InTransaction): Promise<boolean>;
  /** Mark a reservation's units sold; true only for the call that did it. */
  commit(reservationId: string, options?: InTransaction): Promise<boolean>;
}

export function inventoryService({ db }: { db: Db }): InventoryService {
  const inTx = <T>(options: InTransaction | undefined, work: (tx: Db) => Promise<T>) =>
    options?.tx ? work(options.tx) : db.transaction().execute(work);

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

    async reserve(reservationId, lines, options) {
      const sorted = [...lines].sort((a, b) => a.productId - b.productId);
      if (sorted.length === 0) return;
      await inTx(options, async (tx) => {
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
              updated_at: sql<Date>`now()`,
            })),
          )
          .onConflict((oc) => oc.columns(['reservation_id', 'product_id']).doNothing())
          .returning('product_id')
          .execute();
        if (inserted.length === 0) return;
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

    async release(reservationId, options) {
      return inTx(options, async (tx) => {
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

    async commit(reservationId, options) {
      return inTx(options, async (tx) => (await settle(reservationId, 'committed', tx)).length > 0);
    },
  };
}
