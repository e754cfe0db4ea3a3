// Catalog reads through girder/cache: the JSON bodies of `GET /api/products`,
// `GET /api/products/:id` and `GET /api/categories`, serialized once per cache entry and
// sent as they are. Two-level (L1 + Redis L2 + invalidation bus) when REDIS_URL is set,
// L1 only otherwise.
//
// Invalidation: every committed write that changes what a read returns calls one of the
// `...Changed` methods: a product's own entry is deleted, and every list page carries the
// tag `lists`, so one `deleteByTag` makes all of them unservable on every instance (a
// stock change moves the `stock` of one item on some page; finding which pages hold it
// is not worth it: a page costs two indexed queries to rebuild).
import { type Cache, cache } from 'girder/cache';
import type { Clock } from 'girder/core';
import type { CacheLayers } from '../backends.js';
import { presentProduct } from '../http/present.js';
import type { InventoryService } from '../inventory/service.js';
import type { CatalogService } from './service.js';

export interface CatalogReads {
  /** The cache itself (events, metrics). */
  readonly cache: Cache<string>;
  /** JSON of one page of products with their stock. */
  listJson(query: {
    category?: string | undefined;
    page: number;
    pageSize: number;
  }): Promise<string>;
  /** JSON of one product with its stock, or undefined when there is no such product. */
  productJson(id: number): Promise<string | undefined>;
  /** JSON of every category. */
  categoriesJson(): Promise<string>;
  /** After a committed change of these products (stock, name, price...). */
  productsChanged(ids: readonly number[]): Promise<void>;
  /** After a product was added (list totals and pages move). */
  listsChanged(): Promise<void>;
  /** After a category was added. */
  categoriesChanged(): Promise<void>;
  close(): Promise<void>;
}

export interface CatalogReadsOptions {
  catalog: CatalogService;
  inventory: InventoryService;
  layers: CacheLayers;
  ttlMs: number;
  clock: Clock;
}

const LISTS = 'lists';
// Entries are JSON already: L2 stores them as they are.
const asIs = { serialize: (s: string) => s, deserialize: (s: string) => s };

export function catalogReads(options: CatalogReadsOptions): CatalogReads {
  const { catalog, inventory, layers, ttlMs } = options;
  const entries = cache<string>({
    name: 'catalog',
    l1: { maxEntries: 10_000 },
    ...layers,
    ttlMs,
    // Past its TTL an entry that no write invalidated is served once more while it reloads.
    graceMs: ttlMs,
    serializer: asIs,
    clock: options.clock,
  });
  const listTags = { tags: [LISTS] };

  return {
    cache: entries,

    async listJson({ category, page, pageSize }) {
      const key = `list:${category ?? '*'}:${page}:${pageSize}`;
      const json = await entries.getOrSet(
        key,
        async () => {
          const found = await catalog.list({ category, page, pageSize });
          const stock = await inventory.stockOf(found.items.map((p) => p.id));
          return JSON.stringify({
            ...found,
            items: found.items.map((p) => presentProduct(p, stock.get(p.id) ?? 0)),
          });
        },
        listTags,
      );
      return json as string;
    },

    productJson: (id) =>
      entries.getOrSet(`product:${id}`, async () => {
        const product = await catalog.get(id);
        if (!product) return undefined; // remembered as "not found" for a few seconds
        const stock = await inventory.stockOf([id]);
        return JSON.stringify(presentProduct(product, stock.get(id) ?? 0));
      }),

    async categoriesJson() {
      const json = await entries.getOrSet('categories', async () =>
        JSON.stringify({ items: await catalog.categories() }),
      );
      return json as string;
    },

    async productsChanged(ids) {
      if (ids.length === 0) return;
      await Promise.all([
        entries.delete(ids.map((id) => `product:${id}`)),
        entries.deleteByTag(LISTS),
      ]);
    },

    listsChanged: () => entries.deleteByTag(LISTS),
    categoriesChanged: () => entries.delete('categories'),
    close: () => entries.close(),
  };
}
