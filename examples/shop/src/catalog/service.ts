// The catalog service: categories and products (names, descriptions, prices). Owns the
// `categories` and `products` tables. Stock is the inventory service's business.
import { isUniqueViolation, pgErrorCode } from '../db/database.js';
import type { Db } from '../db/schema.js';
import { conflict, notFound } from '../errors.js';

export interface Category {
  id: number;
  slug: string;
  name: string;
}

export interface Product {
  id: number;
  name: string;
  description: string;
  priceCents: number;
  category: Category;
}

export interface ProductPage {
  items: Product[];
  page: number;
  pageSize: number;
  total: number;
}

export interface NewProduct {
  name: string;
  description: string;
  priceCents: number;
  /** Category slug. */
  category: string;
}

export interface ProductChanges {
  name?: string | undefined;
  description?: string | undefined;
  priceCents?: number | undefined;
}

export interface CatalogService {
  categories(): Promise<Category[]>;
  /** One page of products, newest last, optionally of one category (by slug). */
  list(query: {
    category?: string | undefined;
    page: number;
    pageSize: number;
  }): Promise<ProductPage>;
  /** A product, or null. */
  get(id: number): Promise<Product | null>;
  /** Several products by id (missing ids are absent from the map). */
  getMany(ids: readonly number[]): Promise<Map<number, Product>>;
  /** `CATEGORY_NOT_FOUND` (404) for an unknown slug. */
  createProduct(product: NewProduct): Promise<Product>;
  /** Change a product's name, description or price; the updated product, or null when absent. */
  updateProduct(id: number, changes: ProductChanges): Promise<Product | null>;
  /** `CATEGORY_EXISTS` (409) for a slug in use. */
  createCategory(category: { slug: string; name: string }): Promise<Category>;
}

export function catalogService({ db }: { db: Db }): CatalogService {
  const products = () =>
    db
      .selectFrom('products as p')
      .innerJoin('categories as c', 'c.id', 'p.category_id')
      .select([
        'p.id',
        'p.name',
        'p.description',
        'p.price_cents',
        'c.id as category_id',
        'c.slug as category_slug',
        'c.name as category_name',
      ]);
  type Row = Awaited<ReturnType<ReturnType<typeof products>['executeTakeFirstOrThrow']>>;
  const toProduct = (r: Row): Product => ({
    id: r.id,
    name: r.name,
    description: r.description,
    priceCents: r.price_cents,
    category: { id: r.category_id, slug: r.category_slug, name: r.category_name },
  });

  return {
    async categories() {
      return db.selectFrom('categories').select(['id', 'slug', 'name']).orderBy('name').execute();
    },

    async list({ category, page, pageSize }) {
      let query = products();
      let count = db
        .selectFrom('products as p')
        .innerJoin('categories as c', 'c.id', 'p.category_id')
        .select((eb) => eb.fn.countAll<string | number>().as('n'));
      if (category !== undefined) {
        query = query.where('c.slug', '=', category);
        count = count.where('c.slug', '=', category);
      }
      const [rows, total] = await Promise.all([
        query
          .orderBy('p.id')
          .limit(pageSize)
          .offset((page - 1) * pageSize)
          .execute(),
        count.executeTakeFirstOrThrow(),
      ]);
      return { items: rows.map(toProduct), page, pageSize, total: Number(total.n) };
    },

    async get(id) {
      const row = await products().where('p.id', '=', id).executeTakeFirst();
      return row ? toProduct(row) : null;
    },

    async getMany(ids) {
      if (ids.length === 0) return new Map();
      const rows = await products()
        .where('p.id', 'in', [...ids])
        .execute();
      return new Map(rows.map((r) => [r.id, toProduct(r)]));
    },

    async createProduct({ name, description, priceCents, category }) {
      const cat = await db
        .selectFrom('categories')
        .select(['id', 'slug', 'name'])
        .where('slug', '=', category)
        .executeTakeFirst();
      if (!cat) throw notFound('CATEGORY_NOT_FOUND', `no category "${category}"`, { category });
      try {
        const row = await db
          .insertInto('products')
          .values({ name, description, price_cents: priceCents, category_id: cat.id })
          .returning(['id', 'name', 'description', 'price_cents'])
          .executeTakeFirstOrThrow();
        return { id: row.id, name, description, priceCents: row.price_cents, category: cat };
      } catch (err) {
        // The category was deleted meanwhile (foreign key violation).
        if (pgErrorCode(err) === '23503') {
          throw notFound('CATEGORY_NOT_FOUND', `no category "${category}"`, { category });
        }
        throw err;
      }
    },

    async updateProduct(id, { name, description, priceCents }) {
      const set = {
        ...(name !== undefined && { name }),
        ...(description !== undefined && { description }),
        ...(priceCents !== undefined && { price_cents: priceCents }),
      };
      if (Object.keys(set).length > 0) {
        const row = await db
          .updateTable('products')
          .set(set)
          .where('id', '=', id)
          .returning('id')
          .executeTakeFirst();
        if (!row) return null;
      }
      const row = await products().where('p.id', '=', id).executeTakeFirst();
      return row ? toProduct(row) : null;
    },

    async createCategory({ slug, name }) {
      try {
        return await db
          .insertInto('categories')
          .values({ slug, name })
          .returning(['id', 'slug', 'name'])
          .executeTakeFirstOrThrow();
      } catch (err) {
        if (isUniqueViolation(err)) {
          throw conflict('CATEGORY_EXISTS', `category "${slug}" already exists`, { slug });
        }
        throw err;
      }
    },
  };
}
