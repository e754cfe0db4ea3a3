// notifications service: one row per order the buyer was told about, the consumer's
// idempotency marks, and its SMS fallback queue.
import { createIdempotencyTable } from 'girder/mq';
import { createSmsQueueTable } from 'girder/sms';
import type { Kysely } from 'kysely';
import { NOTIFICATION_SMS_QUEUE_TABLE, NOTIFIED_TABLE } from '../roles.js';
import type { RoleMigrations } from './types.js';

export const notificationsMigrations: RoleMigrations = {
  '0001_notifications': {
    legacy: ['0008_messaging'],
    async up(db: Kysely<unknown>) {
      await createIdempotencyTable(db, { table: NOTIFIED_TABLE });
      await db.schema
        .createTable('notifications')
        .addColumn('order_no', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('channel', 'text', (c) => c.notNull())
        .addColumn('sent_at', 'timestamptz', (c) => c.notNull())
        .execute();
    },
  },
  '0002_notification_sms_queue': {
    // Added after the split: no pre-split migration made it.
    legacy: [],
    async up(db: Kysely<unknown>) {
      // girder/sms: order-paid SMS stored by the role's asyncFallback until its worker
      // sends them (the gateway's `sms_queue` is in another database in the cluster).
      await createSmsQueueTable(db, { table: NOTIFICATION_SMS_QUEUE_TABLE });
    },
  },
};
