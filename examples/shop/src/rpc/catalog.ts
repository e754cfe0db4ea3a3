// catalog over gRPC: `bindCatalog` serves a CatalogService; `catalogClient` implements
// the same interface on a channel.
import type { Client, Server } from '@grpc/grpc-js';
import type { CatalogService, Category, Product } from '../catalog/service.js';
import { invoke, unary } from './kit.js';
import { shopProtos } from './protos.js';

interface MaybeProduct {
  found: boolean;
  product?: Product | null;
}

// Product and Category are plain numbers and strings: the messages have the same shape.
const product = (p: Product): Product => ({
  id: p.id,
  name: p.name,
  description: p.description,
  priceCents: p.priceCents,
  category: { id: p.category.id, slug: p.category.slug, name: p.category.name },
});
const maybe = (p: Product | null): MaybeProduct =>
  p ? { found: true, product: product(p) } : { found: false };
const unmaybe = (m: MaybeProduct): Product | null =>
  m.found && m.product ? product(m.product) : null;

/** Serve `catalog` (`shop.catalog.v1.Catalog`) on `server`. */
export function bindCatalog(server: Server, catalog: CatalogService): void {
  server.addService(shopProtos().catalog.Catalog.service, {
    ListCategories: unary(async () => ({ items: await catalog.categories() })),
    List: unary(async (r: { category: string; page: number; pageSize: number }) => {
      const page = await catalog.list({
        category: r.category === '' ? undefined : r.category,
        page: r.page,
        pageSize: r.pageSize,
      });
      return { ...page, items: page.items.map(product) };
    }),
    Get: unary(async (r: { id: number }) => maybe(await catalog.get(r.id))),
    GetMany: unary(async (r: { ids: number[] }) => ({
      items: [...(await catalog.getMany(r.ids)).values()].map(product),
    })),
    CreateProduct: unary(
      async (r: { name: string; description: string; priceCents: number; category: string }) =>
        product(await catalog.createProduct(r)),
    ),
    UpdateProduct: unary(
      async (r: {
        id: number;
        hasName: boolean;
        name: string;
        hasDescription: boolean;
        description: string;
        hasPriceCents: boolean;
        priceCents: number;
      }) =>
        maybe(
          await catalog.updateProduct(r.id, {
            ...(r.hasName && { name: r.name }),
            ...(r.hasDescription && { description: r.description }),
            ...(r.hasPriceCents && { priceCents: r.priceCents }),
          }),
        ),
    ),
    CreateCategory: unary(async (r: { slug: string; name: string }) =>
      catalog.createCategory({ slug: r.slug, name: r.name }),
    ),
  });
}

/** A CatalogService whose calls go over `client` (a `shop.catalog.v1.Catalog` client). */
export function catalogClient(client: Client): CatalogService {
  return {
    categories: async () =>
      (await invoke<{ items: Category[] }>(client, 'ListCategories', {})).items,
    async list({ category, page, pageSize }) {
      const r = await invoke<{ items: Product[]; page: number; pageSize: number; total: number }>(
        client,
        'List',
        { category: category ?? '', page, pageSize },
      );
      return { items: r.items.map(product), page: r.page, pageSize: r.pageSize, total: r.total };
    },
    get: async (id) => unmaybe(await invoke<MaybeProduct>(client, 'Get', { id })),
    async getMany(ids) {
      if (ids.length === 0) return new Map();
      const r = await invoke<{ items: Product[] }>(client, 'GetMany', { ids: [...ids] });
      return new Map(r.items.map((p) => [p.id, product(p)]));
    },
    createProduct: async (p) => product(await invoke<Product>(client, 'CreateProduct', p)),
    updateProduct: async (id, changes) =>
      unmaybe(
        await invoke<MaybeProduct>(client, 'UpdateProduct', {
          id,
          hasName: changes.name !== undefined,
          name: changes.name ?? '',
          hasDescription: changes.description !== undefined,
          description: changes.description ?? '',
          hasPriceCents: changes.priceCents !== undefined,
          priceCents: changes.priceCents ?? 0,
        }),
      ),
    createCategory: async (c) => invoke<Category>(client, 'CreateCategory', c),
  };
}
