// Every statement sqlScheduler sends. Each write is a compare-and-set on `version`: it
// names the version it read and bumps it, so of two workers acting on one read exactly
// one changes the row. RETURNING reports the winner (some drivers, e.g. kysely-pglite,
// do not report affected-row counts).
import type { JobDb, JobRow } from './sql-table.js';

/** @internal */
export const toNumber = (v: number | string | bigint | null | undefined): number =>
  v === null || v === undefined ? 0 : Number(v);

/** @internal Rows of `names` that are due and waiting, or running under an expired lease. */
export function selectClaimable(
  db: JobDb,
  table: string,
  names: readonly string[],
  now: number,
): Promise<JobRow[]> {
  return db
    .selectFrom(table)
    .selectAll()
    .where('name', 'in', names as string[])
    .where((eb) =>
      eb.or([
        eb.and([eb('status', '=', 'waiting'), eb('next_run_at', '<=', now)]),
        eb.and([eb('status', '=', 'running'), eb('lease_until', '<', now)]),
      ]),
    )
    .execute() as Promise<JobRow[]>;
}

/** The columns a compare-and-set may change besides `version` and `updated_at`. */
type CasColumns = {
  status?: 'running' | 'waiting';
  holder?: string | null;
  lease_until?: number;
  next_run_at?: number;
  failures?: number;
  last_result?: string;
};

/**
 * The one compare-and-set UPDATE: apply `set` to `name` only while its row is at
 * `version` (and, when given, held by `holder`), bumping the version. True when this
 * call changed the row, i.e. this worker won.
 */
async function casUpdate(
  db: JobDb,
  table: string,
  row: { name: string; version: number; holder?: string; now: number },
  set: CasColumns,
): Promise<boolean> {
  let query = db
    .updateTable(table)
    .set({ ...set, version: row.version + 1, updated_at: row.now })
    .where('name', '=', row.name)
    .where('version', '=', row.version);
  if (row.holder !== undefined) query = query.where('holder', '=', row.holder);
  return (await query.returning('name').executeTakeFirst()) !== undefined;
}

/** @internal Claim `name` at `version`; true when this worker won. */
export function claim(
  db: JobDb,
  table: string,
  name: string,
  version: number,
  holder: string,
  now: number,
  leaseUntil: number,
): Promise<boolean> {
  return casUpdate(
    db,
    table,
    { name, version, now },
    { status: 'running', holder, lease_until: leaseUntil },
  );
}

/** @internal Extend our lease; true when the row was still ours at `version`. */
export function renew(
  db: JobDb,
  table: string,
  name: string,
  version: number,
  holder: string,
  now: number,
  leaseUntil: number,
): Promise<boolean> {
  return casUpdate(db, table, { name, version, holder, now }, { lease_until: leaseUntil });
}

/** @internal Give the row back as waiting, due at `nextRunAt`; true when it was still ours. */
export function release(
  db: JobDb,
  table: string,
  name: string,
  version: number,
  holder: string,
  now: number,
  update: { nextRunAt: number; failures: number; result: string },
): Promise<boolean> {
  return casUpdate(
    db,
    table,
    { name, version, holder, now },
    {
      status: 'waiting',
      holder: null,
      lease_until: 0,
      next_run_at: update.nextRunAt,
      failures: update.failures,
      last_result: update.result,
    },
  );
}

/** @internal Insert the row of a new job unless another worker already did. */
export async function ensureRow(
  db: JobDb,
  table: string,
  name: string,
  now: number,
  nextRunAt: number,
): Promise<void> {
  const exists = async () =>
    (await db.selectFrom(table).select('name').where('name', '=', name).executeTakeFirst()) !==
    undefined;
  if (await exists()) return;
  try {
    await db
      .insertInto(table)
      .values({
        name,
        status: 'waiting',
        version: 0,
        next_run_at: nextRunAt,
        lease_until: 0,
        holder: null,
        failures: 0,
        last_result: null,
        updated_at: now,
      })
      .execute();
  } catch (error) {
    // Two workers registering at once: the loser's insert hits the primary key.
    if (!(await exists())) throw error;
  }
}
