// Test fixture: the shop's migrations as one list (table `shop_migrations`), frozen as
// they were before each role got its own list. A database they made is what the
// per-role migrations must adopt, and the schema they made is what those must reproduce.
import { createIdempotencyTable, createOutboxTable } from 'girder/mq';
import { createSmsQueueTable } from 'girder/sms';
import { type Kysely, type Migration, Migrator, sql } from 'kysely';

const SMS_QUEUE_TABLE = 'sms_queue';
const OUTBOX_TABLE = 'outbox';
const NOTIFIED_TABLE = 'notified_orders';
const SALES_COUNTED_TABLE = 'sales_counted_orders';

/** The pre-split list, as it was (0001..0009). */
export const LEGACY_MIGRATIONS: Record<string, Migration> = {
  '0001_users': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('users')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('email', 'text', (c) => c.notNull().unique())
        .addColumn('password_hash', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull().defaultTo('user'))
        .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
        .execute();
    },
  },
  '0002_catalog': {
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
  '0003_inventory': {
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
  '0004_orders': {
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
  '0005_payments': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('payments')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('order_no', 'text', (c) => c.notNull())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('amount_cents', 'integer', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('provider_payment_id', 'text')
        .addColumn('pay_url', 'text')
        .addColumn('created_at', 'timestamptz', (c) => c.notNull())
        .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('payments_order_idx').on('payments').column('order_no').execute();
      // At most one open payment per order: a second "pay" click resumes it.
      await db.schema
        .createIndex('payments_open_uq')
        .on('payments')
        .column('order_no')
        .unique()
        .where(sql.ref('status'), '=', 'created')
        .execute();
      await db.schema
        .createIndex('payments_status_idx')
        .on('payments')
        .columns(['status', 'updated_at'])
        .execute();
      await db.schema
        .createTable('payment_events')
        .addColumn('event_id', 'text', (c) => c.primaryKey())
        .addColumn('payment_id', 'text', (c) => c.notNull())
        .addColumn('received_at', 'timestamptz', (c) => c.notNull())
        .addColumn('outcome', 'text', (c) => c.notNull())
        .addColumn('payload', 'text', (c) => c.notNull())
        .execute();
    },
  },
  '0006_product_views': {
    async up(db: Kysely<unknown>) {
      // catalog service: how often each product page was read (the counters' source of truth).
      await db.schema
        .createTable('product_views')
        .addColumn('product_id', 'integer', (c) => c.primaryKey())
        .addColumn('views', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
    },
  },
  '0007_sms': {
    async up(db: Kysely<unknown>) {
      // users service: a phone linked to an account, for SMS-code login.
      await db.schema
        .createTable('user_phones')
        .addColumn('user_id', 'text', (c) => c.primaryKey())
        .addColumn('phone', 'text', (c) => c.notNull().unique())
        .addColumn('linked_at', 'timestamptz', (c) => c.notNull())
        .execute();
      // girder/sms: messages stored by asyncFallback until a worker sends them.
      await createSmsQueueTable(db, { table: SMS_QUEUE_TABLE });
    },
  },
  '0008_messaging': {
    async up(db: Kysely<unknown>) {
      // payments service: events written with the payment, relayed to the queue (girder/mq).
      await createOutboxTable(db, { table: OUTBOX_TABLE });
      // notifications consumer: one row per order told about, marked with its message.
      await createIdempotencyTable(db, { table: NOTIFIED_TABLE });
      await db.schema
        .createTable('notifications')
        .addColumn('order_no', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('channel', 'text', (c) => c.notNull())
        .addColumn('sent_at', 'timestamptz', (c) => c.notNull())
        .execute();
      // popular consumer: orders already counted in the sales counters.
      await createIdempotencyTable(db, { table: SALES_COUNTED_TABLE });
    },
  },
  '0009_orders_paid_by': {
    async up(db: Kysely<unknown>) {
      // orders service: which payment paid an order, so marking it paid is idempotent
      // per payment now that payments and orders share no transaction.
      await db.schema.alterTable('orders').addColumn('paid_by', 'text').execute();
    },
  },
};

/** Run the pre-split list on `db`, up to and including `upTo` (default: all of it). */
export async function migrateLegacy(db: Kysely<unknown>, upTo?: string): Promise<void> {
  const names = Object.keys(LEGACY_MIGRATIONS).filter((n) => upTo === undefined || n <= upTo);
  const migrations = Object.fromEntries(names.map((n) => [n, LEGACY_MIGRATIONS[n]!]));
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
    migrationTableName: 'shop_migrations',
  });
  const { error } = await migrator.migrateToLatest();
  if (error !== undefined) throw error;
}
