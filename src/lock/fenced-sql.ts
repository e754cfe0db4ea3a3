// Fenced writes on SQL through Kysely: the fence check is part of the UPDATE's WHERE, so
// the database refuses a stale holder atomically with the write. Kysely is a type-only
// import: the caller's instance does the work.
import type { Kysely, Transaction } from 'kysely';
import { InvalidArgumentError } from '../core/index.js';
import { FencedError } from './errors.js';

/**
 * What {@link fencedUpdate} writes.
 *
 * @example
 * ```ts
 * const update: FencedUpdate<Database, 'stock'> = {
 *   table: 'stock',
 *   where: { sku: 'sku-1' },
 *   set: { quantity: 41 },
 *   fence: lock.fence,
 * };
 * ```
 */
export interface FencedUpdate<DB, TB extends keyof DB & string> {
  /** The table. */
  table: TB;
  /** Column equalities naming the row(s); at least one (an empty filter would hit every row). */
  where: { readonly [C in keyof DB[TB] & string]?: unknown };
  /** Columns to set (besides the fence column). */
  set: { readonly [C in keyof DB[TB] & string]?: unknown };
  /** The writer's fence (`lock.fence`). */
  fence: number;
  /**
   * The row's fence column: a `BIGINT NOT NULL DEFAULT 0` (Redis fences exceed 2^31).
   * Default `fence`.
   */
  fenceColumn?: keyof DB[TB] & string;
}

// The few builder methods used, loosely typed: the caller's Kysely instance is generic
// over its own schema, which this helper cannot name.
interface LooseWhere<Q> {
  where(column: string, op: string, value: unknown): Q;
}
interface LooseUpdate extends LooseWhere<LooseUpdate> {
  set(values: Record<string, unknown>): LooseUpdate;
  returning(column: string): { execute(): Promise<unknown[]> };
}
interface LooseSelect extends LooseWhere<LooseSelect> {
  select(column: string): LooseSelect;
  executeTakeFirst(): Promise<Record<string, unknown> | undefined>;
}
interface LooseDb {
  updateTable(table: string): LooseUpdate;
  selectFrom(table: string): LooseSelect;
}

const UPDATE_FIELDS = new Set(['table', 'where', 'set', 'fence', 'fenceColumn']);

/**
 * UPDATE rows only while their fence is not above the writer's, and set it to the
 * writer's fence: `UPDATE table SET ..., fence = :fence WHERE <where> AND fence <= :fence`.
 * An **equal** fence passes (one holder may write many times). Resolves with the number
 * of rows updated. When none was updated it reads the row's fence to tell why: a higher
 * fence rejects with `FencedError` (`LOCK_FENCED`, with `current`); no matching row
 * resolves 0 (insert the row first, with fence 0, when it may be missing).
 *
 * The fence check and the write are one statement, so they are atomic on PostgreSQL and
 * PGlite at any isolation level. Run it inside your transaction by passing the
 * transaction as `db`.
 *
 * @throws InvalidArgumentError for an unknown field, an empty `where`, a bad fence or table name.
 *
 * @example
 * ```ts
 * import { fencedUpdate, FencedError } from 'girder/lock';
 *
 * await locker.using('stock:sku-1', async (_signal, lock) => {
 *   await fencedUpdate(db, {
 *     table: 'stock',
 *     where: { sku: 'sku-1' },
 *     set: { quantity: 41 },
 *     fence: lock.fence,
 *   });
 * });
 * ```
 */
export async function fencedUpdate<DB, TB extends keyof DB & string>(
  db: Kysely<DB> | Transaction<DB>,
  update: FencedUpdate<DB, TB>,
): Promise<number> {
  if (update === null || typeof update !== 'object') {
    throw new InvalidArgumentError('update', 'must be an object');
  }
  for (const field in update) {
    if (!UPDATE_FIELDS.has(field)) {
      throw new InvalidArgumentError(`update.${field}`, 'is not a known field');
    }
  }
  const { table, where, set, fence } = update;
  const fenceColumn: string = update.fenceColumn ?? 'fence';
  if (typeof table !== 'string' || table.length === 0) {
    throw new InvalidArgumentError('update.table', 'must be a non-empty string');
  }
  if (typeof fence !== 'number' || !Number.isSafeInteger(fence) || fence < 0) {
    throw new InvalidArgumentError('update.fence', 'must be a safe integer >= 0 (a lock.fence)');
  }
  if (typeof fenceColumn !== 'string' || fenceColumn.length === 0) {
    throw new InvalidArgumentError('update.fenceColumn', 'must be a non-empty string');
  }
  const filters = Object.entries(where ?? {});
  if (filters.length === 0) {
    throw new InvalidArgumentError('update.where', 'must name at least one column');
  }
  if (set === null || typeof set !== 'object') {
    throw new InvalidArgumentError('update.set', 'must be an object');
  }
  if (fenceColumn in set) {
    throw new InvalidArgumentError('update.set', `must not set the fence column "${fenceColumn}"`);
  }
  const loose = db as unknown as LooseDb;
  let query = loose.updateTable(table).set({ ...set, [fenceColumn]: fence });
  for (const [column, value] of filters) query = query.where(column, '=', value);
  // RETURNING counts the rows on every driver (some dialects report no affected rows).
  const rows = await query.where(fenceColumn, '<=', fence).returning(fenceColumn).execute();
  const updated = rows.length;
  if (updated > 0) return updated;
  // Nothing updated: tell a stale writer from a missing row.
  let select = loose.selectFrom(table).select(fenceColumn);
  for (const [column, value] of filters) select = select.where(column, '=', value);
  const row = await select.executeTakeFirst();
  if (row === undefined) return 0;
  const current = Number(row[fenceColumn]);
  throw new FencedError(table, fence, Number.isFinite(current) ? current : undefined);
}
