// notifications service: one row per order the buyer was told about, and the consumer's
// idempotency marks.
import { createIdempotencyTable } from 'girder/mq';
import type { Kysely } from 'kysely';
import { NOTIFIED_TABLE } from '../roles.js';
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
};
