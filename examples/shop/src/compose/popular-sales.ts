// Live units-sold counters fed by `order.paid` (the `popular-sales` consumer group, run by
// the gateway).
//
// The popular page's ranking is still recomputed from the orders service by the ranking
// job (the source of truth); these counters add a live figure between two runs. A counter
// hash that is not loaded (first event, expiry, Redis restart) is loaded from the orders
// service, which already counts the paid order (payments writes the event only after
// orders marked it paid), so the event is not added on top. Each order counts once
// (idempotent on its number, marks in the gateway's own `sales_counted_orders`).

import type { Counters } from 'girder/cache';
import type { Clock } from 'girder/core';
import {
  type BatchHandler,
  type IdempotentHandler,
  idempotent,
  sqlIdempotencyStore,
} from 'girder/mq';
import { SALES_COUNTED_TABLE } from '../db/roles.js';
import type { Database, Db } from '../db/schema.js';
import { readOrderPaid } from '../notifications/order-paid.js';
import type { OrdersService } from '../orders/service.js';
import { SALES_KEY } from './popular.js';

export interface SalesHandlerOptions {
  /** The gateway's database (the consumer's idempotency marks). */
  db: Db;
  /** The orders service (direct or a gRPC client): the units sold, when a load is due. */
  orders: Pick<OrdersService, 'unitsSoldPage'>;
  sales: Counters;
  clock: Clock;
}

/** How many products a load reads (as before the split: at most 1 000). */
const LOAD_LIMIT = 1_000;
const PAGE = 500;

/** Units sold per product in paid orders (at most 1 000 products), asked of the orders service. */
export async function unitsSold(
  orders: Pick<OrdersService, 'unitsSoldPage'>,
): Promise<Record<string, number>> {
  const sold: Record<string, number> = {};
  let after: number | undefined;
  let count = 0;
  while (count < LOAD_LIMIT) {
    const limit = Math.min(PAGE, LOAD_LIMIT - count);
    const page = await orders.unitsSoldPage(after, limit);
    for (const { productId, sold: units } of page) sold[String(productId)] = units;
    count += page.length;
    if (page.length < limit) break;
    after = page.at(-1)!.productId;
  }
  return sold;
}

/** The `order.paid` handler of the `popular-sales` group, and its idempotent core. */
export function salesHandler(options: SalesHandlerOptions): {
  handler: BatchHandler;
  idempotent: IdempotentHandler;
} {
  const { db, orders, sales, clock } = options;
  const store = sqlIdempotencyStore<Database>(db, { table: SALES_COUNTED_TABLE, clock });
  // Set when a counter was found unloaded: the load runs after the marks' transaction,
  // since the orders service may share the gateway's one PGlite connection.
  let loadDue = false;
  const core = idempotent(
    async (message) => {
      const event = readOrderPaid(message);
      for (const item of event.items) {
        const counted = await sales.incr(SALES_KEY, String(item.productId), item.quantity);
        if (counted === undefined) {
          loadDue = true;
          return; // the orders service already counts this order
        }
      }
    },
    { store, key: (m) => readOrderPaid(m).orderNo, clock, name: 'popular-sales' },
  );
  const handler: BatchHandler = async (batch, signal) => {
    await core(batch, signal);
    if (!loadDue) return;
    loadDue = false;
    // The marks are committed: a failed load must not fail (and redeliver) the batch.
    // The counters stay unloaded and the next event tries again; the ranking job is
    // the page's source of truth meanwhile.
    try {
      const loaded = await unitsSold(orders);
      if (Object.keys(loaded).length > 0) await sales.init(SALES_KEY, loaded);
    } catch {}
  };
  return { handler, idempotent: core };
}
