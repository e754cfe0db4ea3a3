// The repair log: one row per secondary write that failed, read back by the fixer.
// Written with the same Kysely schema builder everywhere, so any dialect works.
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { parseOptions } from '../core/index.js';
import { type AnyDb, identifierSchema } from './shared.js';
import type { Phase } from './types.js';

/** Default name of the repair log table. */
export const DEFAULT_REPAIR_LOG_TABLE = 'girder_migration_repair_log';

/**
 * Options of {@link createRepairLogTable}.
 *
 * @example
 * ```ts
 * await createRepairLogTable(db, { table: 'orders_repair_log' });
 * ```
 */
export interface CreateRepairLogTableOptions {
  /** Table name. Default `girder_migration_repair_log`. */
  table?: string;
}

const tableSchema = z.strictObject({ table: identifierSchema.default(DEFAULT_REPAIR_LOG_TABLE) });

/**
 * Creates the repair log table if it does not exist (schema builder only). The dual
 * writer appends a row for every failed secondary write; the fixer's `drainRepairLog()`
 * repairs and removes them. Safe to call on every start.
 *
 * @example
 * ```ts
 * import { createRepairLogTable, dualWrite } from 'girder/migrator';
 *
 * await createRepairLogTable(source);
 * const orders = dualWrite({ source, target, table: 'orders', key: 'id', phase,
 *   repairLog: { db: source } });
 * ```
 */
export async function createRepairLogTable(db: AnyDb, options: CreateRepairLogTableOptions = {}) {
  const { table } = parseOptions('createRepairLogTable', tableSchema, options);
  await db.schema
    .createTable(table)
    .ifNotExists()
    .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
    .addColumn('table_name', 'varchar(120)', (c) => c.notNull())
    // JSON of the key value; NULL when a custom write could not name its rows.
    .addColumn('row_key', 'text')
    .addColumn('op', 'varchar(16)', (c) => c.notNull())
    .addColumn('phase', 'varchar(32)', (c) => c.notNull())
    .addColumn('side', 'varchar(16)', (c) => c.notNull())
    .addColumn('error', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createIndex(`${table.replace('.', '_')}_created`)
    .ifNotExists()
    .on(table)
    .columns(['table_name', 'created_at'])
    .execute();
}

/** @internal One row of the repair log. */
export interface RepairEntry {
  readonly id: string;
  readonly table: string;
  /** The key value, or undefined for a custom write that named no rows. */
  readonly key: unknown;
  readonly op: string;
  readonly phase: Phase;
  /** The side whose write failed. */
  readonly side: string;
  readonly error: string;
  readonly createdAt: number;
}

// Keys are stored as JSON, losslessly: a bigint as `{"bigint":"<decimal>"}`, and a
// composite key (an object of its columns) as `{"columns":{...}}` with each value encoded
// the same way, so a column that happens to be named `bigint` cannot be misread.
const encodeValue = (value: unknown): unknown =>
  typeof value === 'bigint' ? { bigint: value.toString() } : value;

const decodeValue = (value: unknown): unknown =>
  typeof value === 'object' && value !== null && 'bigint' in value
    ? BigInt((value as { bigint: string }).bigint)
    : value;

/** @internal A key value (scalar, bigint, or composite object) as repair-log JSON. */
export function encodeKey(key: unknown): string {
  if (typeof key === 'object' && key !== null && !Array.isArray(key)) {
    const columns = Object.entries(key).map(([c, v]) => [c, encodeValue(v)]);
    return JSON.stringify({ columns: Object.fromEntries(columns) });
  }
  return JSON.stringify(encodeValue(key));
}

/** @internal Inverse of {@link encodeKey}; NULL (a write that named no rows) is undefined. */
export function decodeKey(text: string | null): unknown {
  if (text === null) return undefined;
  const value = JSON.parse(text) as unknown;
  if (typeof value === 'object' && value !== null && 'columns' in value) {
    const columns = Object.entries((value as { columns: Record<string, unknown> }).columns);
    return Object.fromEntries(columns.map(([c, v]) => [c, decodeValue(v)]));
  }
  return decodeValue(value);
}

/** @internal Append one entry. */
export async function appendRepair(
  db: AnyDb,
  table: string,
  entry: Omit<RepairEntry, 'id'>,
): Promise<void> {
  await db
    .insertInto(table)
    .values({
      id: randomUUID(),
      table_name: entry.table,
      row_key: entry.key === undefined ? null : encodeKey(entry.key),
      op: entry.op,
      phase: entry.phase,
      side: entry.side,
      error: entry.error,
      created_at: entry.createdAt,
    })
    .execute();
}

/** @internal The oldest `limit` entries of one table. */
export async function readRepairs(
  db: AnyDb,
  table: string,
  tableName: string,
  limit: number,
): Promise<RepairEntry[]> {
  const rows = await db
    .selectFrom(table)
    .selectAll()
    .where('table_name', '=', tableName)
    .orderBy('created_at')
    .orderBy('id')
    .limit(limit)
    .execute();
  return rows.map((r) => ({
    id: String(r.id),
    table: String(r.table_name),
    key: decodeKey(r.row_key as string | null),
    op: String(r.op),
    phase: r.phase as Phase,
    side: String(r.side),
    error: String(r.error ?? ''),
    createdAt: Number(r.created_at),
  }));
}

/** @internal Remove handled entries. */
export async function removeRepairs(db: AnyDb, table: string, ids: readonly string[]) {
  if (ids.length === 0) return;
  await db.deleteFrom(table).where('id', 'in', ids).execute();
}
