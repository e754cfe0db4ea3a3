// Product-page views: gateway data (db/roles.ts), counted where the page is served and
// kept in the gateway's database; the file sits beside the catalog it describes, but the
// catalog service never reads it. The database row is the source of truth (one
// conditional upsert per view); girder/cache counters (Redis when REDIS_URL is set,
// memory otherwise) hold the figures readers see, incremented only while loaded: a miss
// loads the true count from the database instead of starting from a wrong zero.
import type { Counters } from 'girder/cache';
import type { Db } from '../db/schema.js';

export interface ProductViews {
  /** Count one view of `productId`; resolves the views so far. */
  record(productId: number): Promise<number>;
  /** Views of each product (0 when never viewed). */
  of(productIds: readonly number[]): Promise<Map<number, number>>;
}

const keyOf = (id: number) => `product:${id}`;

export function productViews({ db, counters }: { db: Db; counters: Counters }): ProductViews {
  const fromDb = async (id: number) => {
    const row = await db
      .selectFrom('product_views')
      .select('views')
      .where('product_id', '=', id)
      .executeTakeFirst();
    return row?.views ?? 0;
  };
  const load = async (id: number) => {
    const views = await fromDb(id);
    // Not `replace`: a count loaded by a concurrent reader (and incremented since) stays.
    await counters.init(keyOf(id), { views });
    return (await counters.get(keyOf(id), 'views')) ?? views;
  };
  return {
    async record(productId) {
      await db
        .insertInto('product_views')
        .values({ product_id: productId, views: 1 })
        .onConflict((oc) =>
          oc.column('product_id').doUpdateSet((eb) => ({
            views: eb('product_views.views', '+', 1),
          })),
        )
        .execute();
      const counted = await counters.incr(keyOf(productId), 'views', 1).catch(() => undefined);
      if (counted !== undefined) return counted;
      return load(productId).catch(() => fromDb(productId));
    },

    async of(productIds) {
      const views = new Map<number, number>();
      await Promise.all(
        productIds.map(async (id) => {
          const cached = await counters.get(keyOf(id), 'views').catch(() => undefined);
          views.set(id, cached ?? (await load(id).catch(() => fromDb(id))));
        }),
      );
      return views;
    },
  };
}
