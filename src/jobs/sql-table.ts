// The job table of sqlScheduler and its migration. Times are epoch milliseconds in
// BIGINT columns, always written from the scheduler's injected clock (never the
// database's NOW()), so tests drive time and every worker compares like with like.
import type { Kysely } from 'kysely';
import { z } from 'zod';
import { parseOptions } from '../core/index.js';

/** Default name of the job table. */
export const DEFAULT_JOB_TABLE = 'girder_jobs';

/** @internal One row of the job table, as the scheduler reads it. */
export interface JobRow {
  /** Unique job name (primary key). */
  name: string;
  /** `waiting` (due at `next_run_at`) or `running` (held by `holder` until `lease_until`). */
  status: 'waiting' | 'running';
  /** Compare-and-set counter: every claim, renewal and completion increments it. */
  version: number | string | bigint;
  next_run_at: number | string | bigint;
  lease_until: number | string | bigint;
  holder: string | null;
  /** Consecutive failures (drives the retry backoff); 0 after a success. */
  failures: number;
  last_result: string | null;
  updated_at: number | string | bigint;
}

/**
 * @internal The database type the scheduler queries through: one dynamic table name.
 * Callers pass their own `Kysely<DB>`; it is viewed through this type.
 */
export type JobDb = Kysely<Record<string, JobRow>>;

/**
 * Options of {@link createJobTable}.
 *
 * @example
 * ```ts
 * await createJobTable(db, { table: 'shop_jobs' });
 * ```
 */
export interface CreateJobTableOptions {
  /** Table name. Default `girder_jobs`. */
  table?: string;
}

/** Letters, digits and underscores, optionally schema-qualified: safe as an identifier. */
export const tableNameSchema = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/, 'must be a plain SQL identifier')
  .max(120)
  .default(DEFAULT_JOB_TABLE);

const schema = z.strictObject({ table: tableNameSchema });

/**
 * Create the job table of `sqlScheduler` if it does not exist yet. Built with Kysely's
 * schema builder only (no raw SQL), so it runs on any dialect the scheduler supports
 * (PostgreSQL, PGlite). Safe to call on every start.
 *
 * @example
 * ```ts
 * import { Kysely, PostgresDialect } from 'kysely';
 * import pg from 'pg';
 * import { createJobTable, sqlScheduler } from 'girder/jobs';
 *
 * const db = new Kysely({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString }) }) });
 * await createJobTable(db);
 * const scheduler = sqlScheduler(db, { leaseMs: 30_000 });
 * ```
 */
// biome-ignore lint/suspicious/noExplicitAny: any user database type; the table name is dynamic.
export async function createJobTable(db: Kysely<any>, options: CreateJobTableOptions = {}) {
  const { table } = parseOptions('createJobTable', schema, options);
  await (db as JobDb).schema
    .createTable(table)
    .ifNotExists()
    .addColumn('name', 'varchar(200)', (c) => c.primaryKey())
    .addColumn('status', 'varchar(16)', (c) => c.notNull().defaultTo('waiting'))
    .addColumn('version', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('next_run_at', 'bigint', (c) => c.notNull())
    .addColumn('lease_until', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('holder', 'varchar(255)')
    .addColumn('failures', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('last_result', 'varchar(16)')
    .addColumn('updated_at', 'bigint', (c) => c.notNull().defaultTo(0))
    .execute();
  // The claim query filters on these two columns.
  await (db as JobDb).schema
    .createIndex(`${table.replace('.', '_')}_due`)
    .ifNotExists()
    .on(table)
    .columns(['status', 'next_run_at'])
    .execute();
}
