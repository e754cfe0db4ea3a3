// The popular page: products ranked by units sold (paid orders). girder/cache `topN`
// scans the sales per product in keyset pages, keeping the best `n` in a min-heap; a
// `rankingJob` runs that on the jobs' leader every period and stores the result in a
// cache of its own (L1, plus Redis L2 when REDIS_URL is set), so every instance answers
// from memory and keeps its last copy if Redis goes away.
import { type Cache, type Counters, cache, type RankingJob, rankingJob, topN } from 'girder/cache';
import type { Clock } from 'girder/core';
import type { Election } from 'girder/jobs';
import type { CacheLayers } from '../backends.js';
import type { CatalogService, Product } from '../catalog/service.js';
import type { OrdersService } from '../orders/service.js';

/** One ranked product. */
export interface PopularEntry {
  product: Product;
  /** Units sold in paid orders. */
  sold: number;
}

/** The counters hash of live units sold per product id, fed by `order.paid`. */
export const SALES_KEY = 'popular-sales';

export interface Popular {
  readonly job: RankingJob<PopularEntry[]>;
  readonly cache: Cache<PopularEntry[]>;
  /** Live units sold per product id (the `popular-sales` consumer); undefined until loaded. */
  liveSales(): Promise<Record<string, number> | undefined>;

  close(): Promise<void>;
}

export interface PopularOptions {
  orders: OrdersService;
  catalog: CatalogService;
  election: Election;
  layers: CacheLayers;
  /** Where the live sales counters live (key {@link SALES_KEY}). */
  counters: Counters;
  everyMs: number;
  clock: Clock;
  /** Products on the page. Default 10. */
  n?: number;
  /** Rows per page of the scan. Default 500. */
  batchSize?: number;
}

export function popularRanking(options: PopularOptions): Popular {
  const { orders, catalog, everyMs, clock } = options;
  const rankings = cache<PopularEntry[]>({
    name: 'popular',
    l1: { maxEntries: 10 },
    ...options.layers,
    ttlMs: 3 * everyMs,
    clock,
  });
  const job = rankingJob<PopularEntry[]>({
    name: 'popular-products',
    election: options.election,
    cache: rankings,
    everyMs,
    clock,
    async compute({ signal }) {
      const best = await topN(
        async (after: number | undefined, limit) => {
          const items = await orders.unitsSoldPage(after, limit);
          return { items, next: items.at(-1)?.productId };
        },
        {
          n: options.n ?? 10,
          score: (row) => row.sold,
          // Equal sales: the older product (lower id) first.
          compare: (a, b) => a.productId - b.productId,
          batchSize: options.batchSize ?? 500,
          signal,
        },
      );
      const products = await catalog.getMany(best.map((e) => e.item.productId));
      return best.flatMap(({ item }) => {
        const product = products.get(item.productId);
        return product ? [{ product, sold: item.sold }] : [];
      });
    },
  });
  return {
    job,
    cache: rankings,
    liveSales: () => options.counters.getAll(SALES_KEY),

    async close() {
      await job.close();
      await rankings.close();
    },
  };
}
