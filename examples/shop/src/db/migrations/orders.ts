// orders service: orders and their lines. The live-migration demo's target database runs
// these too (migration/target.ts), so both sides of the move have one schema.
import type { Kysely } from 'kysely';
import type { RoleMigrations } from './types.js';

export const ordersMigrations: RoleMigrations = {
  '0001_orders': {
    legacy: ['0004_orders'],
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('orders')
        .addColumn('order_no', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('request_id', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('total_cents', 'integer', (c) => c.notNull())
        .addColumn('cancel_reason', 'text')
        .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
        .addColumn('created_at', 'timestamptz', (c) => c.notNull())
        .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
        .addColumn('paid_at', 'timestamptz')
        .addColumn('cancelled_at', 'timestamptz')
        .addUniqueConstraint('orders_request_uq', ['user_id', 'request_id'])
        .execute();
      await db.schema
        .createIndex('orders_user_idx')
        .on('orders')
        .columns(['user_id', 'created_at'])
        .execute();
      await db.schema
        .createIndex('orders_pending_idx')
        .on('orders')
        .columns(['status', 'expires_at'])
        .execute();
      await db.schema
        .createTable('order_items')
        .addColumn('order_no', 'text', (c) => c.notNull().references('orders.order_no'))
        .addColumn('product_id', 'integer', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('unit_price_cents', 'integer', (c) => c.notNull())
        .addColumn('quantity', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('order_items_pk', ['order_no', 'product_id'])
        .execute();
    },
  },
  '0002_orders_paid_by': {
    legacy: ['0009_orders_paid_by'],
    async up(db: Kysely<unknown>) {
      // Which payment paid an order, so marking it paid is idempotent per payment now
      // that payments and orders share no transaction.
      await db.schema.alterTable('orders').addColumn('paid_by', 'text').execute();
    },
  },
};
