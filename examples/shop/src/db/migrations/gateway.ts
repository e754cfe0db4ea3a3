// gateway (BFF): product-page views, the SMS fallback queue, and the popular-sales
// consumer's idempotency marks.
import { createIdempotencyTable } from 'girder/mq';
import { createSmsQueueTable } from 'girder/sms';
import type { Kysely } from 'kysely';
import { SALES_COUNTED_TABLE, SMS_QUEUE_TABLE } from '../roles.js';
import type { RoleMigrations } from './types.js';

export const gatewayMigrations: RoleMigrations = {
  '0001_product_views': {
    legacy: ['0006_product_views'],
    async up(db: Kysely<unknown>) {
      // How often each product page was read (the view counters' source of truth).
      await db.schema
        .createTable('product_views')
        .addColumn('product_id', 'integer', (c) => c.primaryKey())
        .addColumn('views', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
    },
  },
  '0002_sms_queue': {
    legacy: ['0007_sms'],
    async up(db: Kysely<unknown>) {
      // girder/sms: messages stored by asyncFallback until a worker sends them.
      await createSmsQueueTable(db, { table: SMS_QUEUE_TABLE });
    },
  },
  '0003_sales_counted': {
    legacy: ['0008_messaging'],
    async up(db: Kysely<unknown>) {
      // Orders already counted in the popular page's live sales counters.
      await createIdempotencyTable(db, { table: SALES_COUNTED_TABLE });
    },
  },
};
