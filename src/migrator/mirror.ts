// Copying one row to the other side without going backwards: an upsert whose update
// half is guarded by the version column, so an older copy never replaces a newer one,
// whatever order two writers (or a writer and the fixer) arrive in.
import { sql } from 'kysely';
import type { AnyDb, Row } from './shared.js';

/**
 * Upserts `row` into `table` keyed by `key`. With `version`, an existing row is replaced
 * only when its version is NULL or not above the row's (`<=`: an equal version is the
 * same write, and the side in charge wins ties). Resolves true if the row was written.
 */
export async function upsertIfNotNewer(
  db: AnyDb,
  table: string,
  key: string,
  version: string | undefined,
  row: Row,
): Promise<boolean> {
  const columns = Object.keys(row).filter((c) => c !== key);
  const written = await db
    .insertInto(table)
    .values(row)
    .onConflict((oc) => {
      const target = oc.column(key);
      if (columns.length === 0) return target.doNothing();
      const update = target.doUpdateSet(
        Object.fromEntries(columns.map((c) => [c, sql.ref(`excluded.${c}`)])),
      );
      if (version === undefined) return update;
      const current = sql.ref(`${table}.${version}`);
      return update.where(
        sql<boolean>`(${current} IS NULL OR ${current} <= ${sql.ref(`excluded.${version}`)})`,
      );
    })
    .returning(key)
    .executeTakeFirst();
  return written !== undefined;
}

/** Deletes the row keyed `value`; with `version`, only while it still has that version. */
export async function deleteRow(
  db: AnyDb,
  table: string,
  key: string,
  value: unknown,
  version?: { column: string; value: unknown },
): Promise<boolean> {
  let query = db.deleteFrom(table).where(key, '=', value);
  if (version !== undefined) {
    query =
      version.value === null || version.value === undefined
        ? query.where(version.column, 'is', null)
        : query.where(version.column, '=', version.value);
  }
  // RETURNING rather than the affected-row count, which not every driver reports.
  const deleted = await query.returning(key).execute();
  return deleted.length > 0;
}

/** Reads the row keyed `value`, or undefined. */
export async function readRow(
  db: AnyDb,
  table: string,
  key: string,
  value: unknown,
): Promise<Row | undefined> {
  return (await db.selectFrom(table).selectAll().where(key, '=', value).executeTakeFirst()) as
    | Row
    | undefined;
}
