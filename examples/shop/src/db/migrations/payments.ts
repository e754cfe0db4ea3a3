// payments service: payments, every provider callback, and the outbox its events leave by.
import { createOutboxTable } from 'girder/mq';
import { type Kysely, sql } from 'kysely';
import { OUTBOX_TABLE } from '../roles.js';
import type { RoleMigrations } from './types.js';

export const paymentsMigrations: RoleMigrations = {
  '0001_payments': {
    legacy: ['0005_payments'],
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
  '0002_outbox': {
    legacy: ['0008_messaging'],
    async up(db: Kysely<unknown>) {
      // Events written with the payment, relayed to the queue (girder/mq).
      await createOutboxTable(db, { table: OUTBOX_TABLE });
    },
  },
};
