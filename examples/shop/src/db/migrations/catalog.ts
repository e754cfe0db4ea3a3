// catalog service: categories and products.
import { type Kysely, sql } from 'kysely';
import type { RoleMigrations } from './types.js';

export const catalogMigrations: RoleMigrations = {
  '0001_catalog': {
    legacy: ['0002_catalog'],
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('categories')
        .addColumn('id', 'serial', (c) => c.primaryKey())
        .addColumn('slug', 'text', (c) => c.notNull().unique())
        .addColumn('name', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('products')
        .addColumn('id', 'serial', (c) => c.primaryKey())
        .addColumn('category_id', 'integer', (c) => c.notNull().references('categories.id'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('price_cents', 'integer', (c) => c.notNull().check(sql`price_cents >= 0`))
        .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .execute();
      await db.schema
        .createIndex('products_category_idx')
        .on('products')
        .columns(['category_id', 'id'])
        .execute();
    },
  },
};
