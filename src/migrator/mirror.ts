// Copying one row to the other side without going backwards: an upsert whose update
// half is guarded by the version column, so an older copy never replaces a newer one,
// whatever order two writers (or a writer and the fixer) arrive in. Keys are tuples in
// key-column order (see row-key.ts): one `=` per column, composite or not.
import { sql } from 'kysely';
import type { KeyColumns, KeyTuple } from './row-key.js';
import type { AnyDb, Row } from './shared.js';

/** One `column = value` condition per key column. */
// biome-ignore lint/suspicious/noExplicitAny: Kysely's builders over a table named at run time.
function whereKey<Q extends { where: (...args: any[]) => Q }>(
  query: Q,
  columns: KeyColumns,
  values: KeyTuple,
): Q {
  return columns.reduce((q, column, i) => q.where(column, '=', values[i]), query);
}

/**
 * Upserts `row` into `table` keyed by `columns`. With `version`, an existing row is
 * replaced only when its version is NULL or not above the row's (`<=`: an equal version
 * is the same write, and the side in charge wins ties). Resolves true if the row was written.
 */
export async function upsertIfNotNewer(
  db: AnyDb,
  table: string,
  columns: KeyColumns,
  version: string | undefined,
  row: Row,
): Promise<boolean> {
  const others = Object.keys(row).filter((c) => !columns.includes(c));
  const written = await db
    .insertInto(table)
    .values(row)
    .onConflict((oc) => {
      const target = oc.columns([...columns]);
      if (others.length === 0) return target.doNothing();
      const update = target.doUpdateSet(
        Object.fromEntries(others.map((c) => [c, sql.ref(`excluded.${c}`)])),
      );
      if (version === undefined) return update;
      const current = sql.ref(`${table}.${version}`);
      return update.where(
        sql<boolean>`(${current} IS NULL OR ${current} <= ${sql.ref(`excluded.${version}`)})`,
      );
    })
    .returning(columns[0] as string)
    .executeTakeFirst();
  return written !== undefined;
}

/** Deletes the row keyed `values`; with `version`, only while it still has that version. */
export async function deleteRow(
  db: AnyDb,
  table: string,
  columns: KeyColumns,
  values: KeyTuple,
  version?: { column: string; value: unknown },
): Promise<boolean> {
  let query = whereKey(db.deleteFrom(table), columns, values);
  if (version !== undefined) {
    query =
      version.value === null || version.value === undefined
        ? query.where(version.column, 'is', null)
        : query.where(version.column, '=', version.value);
  }
  // RETURNING rather than the affected-row count, which not every driver reports.
  const deleted = await query.returning(columns[0] as string).execute();
  return deleted.length > 0;
}

/** Reads the row keyed `values`, or undefined. */
export async function readRow(
  db: AnyDb,
  table: string,
  columns: KeyColumns,
  values: KeyTuple,
): Promise<Row | undefined> {
  return (await whereKey(db.selectFrom(table).selectAll(), columns, values).executeTakeFirst()) as
    | Row
    | undefined;
}

/** Updates the row keyed `values` with `set`, returning the new row, or undefined. */
export async function updateRow(
  db: AnyDb,
  table: string,
  columns: KeyColumns,
  values: KeyTuple,
  set: Record<string, unknown>,
): Promise<Row | undefined> {
  return (await whereKey(db.updateTable(table).set(set), columns, values)
    .returningAll()
    .executeTakeFirst()) as Row | undefined;
}
