// inventory service: stock per product, and the reservations taken out of it.
import { type Kysely, sql } from 'kysely';
import type { RoleMigrations } from './types.js';

export const inventoryMigrations: RoleMigrations = {
  '0001_inventory': {
    legacy: ['0003_inventory'],
    async up(db: Kysely<unknown>) {
      // No foreign key to products: the catalog is another service's data.
      await db.schema
        .createTable('inventory')
        .addColumn('product_id', 'integer', (c) => c.primaryKey())
        .addColumn('available', 'integer', (c) => c.notNull().check(sql`available >= 0`))
        .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .execute();
      await db.schema
        .createTable('inventory_reservations')
        .addColumn('reservation_id', 'text', (c) => c.notNull())
        .addColumn('product_id', 'integer', (c) => c.notNull())
        .addColumn('quantity', 'integer', (c) => c.notNull().check(sql`quantity > 0`))
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .addPrimaryKeyConstraint('inventory_reservations_pk', ['reservation_id', 'product_id'])
        .execute();
    },
  },
};
