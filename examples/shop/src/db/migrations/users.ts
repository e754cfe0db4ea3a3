// users service: accounts, and the phone linked to one (SMS-code login).
import { type Kysely, sql } from 'kysely';
import type { RoleMigrations } from './types.js';

export const usersMigrations: RoleMigrations = {
  '0001_users': {
    legacy: ['0001_users'],
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
  '0002_user_phones': {
    legacy: ['0007_sms'],
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('user_phones')
        .addColumn('user_id', 'text', (c) => c.primaryKey())
        .addColumn('phone', 'text', (c) => c.notNull().unique())
        .addColumn('linked_at', 'timestamptz', (c) => c.notNull())
        .execute();
    },
  },
};
