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
  load: () => Promise<Record<string, number>>;
  clock: Clock;
}

export function salesHandler(options: SalesHandlerOptions): IdempotentHandler {
  const { db, sales, load, clock } = options;
  const store = sqlIdempotencyStore<Database>(db, { table: SALES_COUNTED_TABLE, clock });
  return idempotent(
    async (message) => {
      const event = readOrderPaid(message);
      for (const item of event.items) {
        const counted = await sales.incr(SALES_KEY, String(item.productId), item.quantity);
        if (counted === undefined) {
          const loaded = await load();
          if (Object.keys(loaded).length > 0) await sales.init(SALES_KEY, loaded);
          return; // the database already counts this order
        }
      }
    },
    { store, key: (m) => readOrderPaid(m).orderNo, clock, name: 'popular-sales' },
  );
}
