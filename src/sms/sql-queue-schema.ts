// The SQL queue's table, created with Kysely's schema builder so PGlite and PostgreSQL
// (and any dialect Kysely speaks) get the same columns.
import type { Kysely } from 'kysely';
import { z } from 'zod';
import { parseOptions } from '../core/index.js';

/** @internal A table name, optionally schema-qualified: `sms_queue`, `ops.sms_queue`. */
export const tableSchema = z
  .string()
  .regex(
    /^[A-Za-z_][A-Za-z0-9_]{0,62}(\.[A-Za-z_][A-Za-z0-9_]{0,62})?$/,
    'must be a table name (letters, digits, _), optionally schema-qualified',
  )
  .default('girder_sms_queue');

/**
 * Options of {@link createSmsQueueTable}.
 *
 * @example
 * ```ts
 * const options: SmsQueueTableOptions = { table: 'ops.sms_queue' };
 * ```
 */
export interface SmsQueueTableOptions {
  /** The table (optionally `schema.table`). Default `girder_sms_queue`. */
  table?: string;
}

const schema = z.strictObject({ table: tableSchema });

/**
 * Create the table `sqlSmsQueue` uses (if it does not exist), with a unique index on
 * `request_id` (what bounds duplicates) and an index serving the claim query. Times are
 * stored as epoch milliseconds (`bigint`), the message as JSON text. Run it from your
 * migrations, or once at start-up (it is idempotent).
 *
 * @throws InvalidOptionsError naming a bad option.
 *
 * @example
 * ```ts
 * import { Kysely, PostgresDialect } from 'kysely';
 * import pg from 'pg';
 * import { createSmsQueueTable, sqlSmsQueue } from 'girder/sms';
 *
 * const db = new Kysely<unknown>({ dialect: new PostgresDialect({ pool: new pg.Pool() }) });
 * await createSmsQueueTable(db);
 * const queue = sqlSmsQueue(db);
 * ```
 */
export async function createSmsQueueTable<DB>(
  db: Kysely<DB>,
  options: SmsQueueTableOptions = {},
): Promise<void> {
  const { table } = parseOptions('createSmsQueueTable', schema, options);
  const k = db as unknown as Kysely<Record<string, never>>;
  await k.schema
    .createTable(table)
    .ifNotExists()
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('request_id', 'text', (c) => c.notNull().unique())
    .addColumn('message', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('max_attempts', 'integer', (c) => c.notNull())
    .addColumn('token', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('available_at', 'bigint', (c) => c.notNull())
    .addColumn('lease_until', 'bigint')
    .addColumn('lease_owner', 'text')
    .addColumn('last_error', 'text')
    .addColumn('enqueued_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  // An index lives in its table's schema; its name is never qualified. One index per
  // claim statement, in its ORDER BY, so a claim reads n rows, never the whole backlog.
  const bare = table.slice(table.lastIndexOf('.') + 1);
  await k.schema
    .createIndex(`${bare}_claim_idx`)
    .ifNotExists()
    .on(table)
    .columns(['status', 'available_at', 'id'])
    .execute();
  await k.schema
    .createIndex(`${bare}_lease_idx`)
    .ifNotExists()
    .on(table)
    .columns(['status', 'lease_until'])
    .execute();
}
