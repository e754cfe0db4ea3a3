// Live units-sold counters fed by `order.paid` (the `popular-sales` consumer group).
//
// The popular page's ranking is still recomputed from the database by the ranking job
// (the source of truth); these counters add a live figure between two runs. A counter
// hash that is not loaded (first event, expiry, Redis restart) is loaded from the
// database, which already holds the paid order (the event is published after commit),
// so the event is not added on top. Each order counts once (idempotent on its number).

import type { Counters } from 'girder/cache';
import type { Clock } from 'girder/core';
import { type IdempotentHandler, idempotent, sqlIdempotencyStore } from 'girder/mq';
import { SALES_COUNTED_TABLE } from '../db/migrations.js';
import type { Database, Db } from '../db/schema.js';
import { readOrderPaid } from '../notifications/order-paid.js';
import { SALES_KEY } from './popular.js';

export interface SalesHandlerOptions {
  db: Db;
  sales: Counters;
  clock: Clock;
}

/** Units sold per product in paid orders (at most 1 000 products), read through `db`. */
export async function unitsSold(db: Db): Promise<Record<string, number>> {
  const rows = await db
    .selectFrom('order_items as i')
    .innerJoin('orders as o', 'o.order_no', 'i.order_no')
    .select((eb) => ['i.product_id', eb.fn.sum<string | number>('i.quantity').as('sold')])
    .where('o.status', '=', 'paid')
    .groupBy('i.product_id')
    .orderBy('i.product_id')
    .limit(1_000)
    .execute();
  return Object.fromEntries(rows.map((r) => [String(r.product_id), Number(r.sold)]));
}

export function salesHandler(options: SalesHandlerOptions): IdempotentHandler {
  const { db, sales, clock } = options;
  const store = sqlIdempotencyStore<Database>(db, { table: SALES_COUNTED_TABLE, clock });
  return idempotent(
    // Reads go through the mark's transaction `trx` (PGlite has one connection).
    async (message, { trx }) => {
      const event = readOrderPaid(message);
      for (const item of event.items) {
        const counted = await sales.incr(SALES_KEY, String(item.productId), item.quantity);
        if (counted === undefined) {
          const loaded = await unitsSold(trx as unknown as Db);
          if (Object.keys(loaded).length > 0) await sales.init(SALES_KEY, loaded);
          return; // the database already counts this order
        }
      }
    },
    { store, key: (m) => readOrderPaid(m).orderNo, clock, name: 'popular-sales' },
  );
}
