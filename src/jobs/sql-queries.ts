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

/** @internal Claim `name` at `version`; true when this worker won. */
export async function claim(
  db: JobDb,
  table: string,
  name: string,
  version: number,
  holder: string,
  now: number,
  leaseUntil: number,
): Promise<boolean> {
  const row = await db
    .updateTable(table)
    .set({
      status: 'running',
      holder,
      lease_until: leaseUntil,
      version: version + 1,
      updated_at: now,
    })
    .where('name', '=', name)
    .where('version', '=', version)
    .returning('name')
    .executeTakeFirst();
  return row !== undefined;
}

/** @internal Extend our lease; true when the row was still ours at `version`. */
export async function renew(
  db: JobDb,
  table: string,
  name: string,
  version: number,
  holder: string,
  now: number,
  leaseUntil: number,
): Promise<boolean> {
  const row = await db
    .updateTable(table)
    .set({ lease_until: leaseUntil, version: version + 1, updated_at: now })
    .where('name', '=', name)
    .where('version', '=', version)
    .where('holder', '=', holder)
    .returning('name')
    .executeTakeFirst();
  return row !== undefined;
}

/** @internal Give the row back as waiting, due at `nextRunAt`; true when it was still ours. */
export async function release(
  db: JobDb,
  table: string,
  name: string,
  version: number,
  holder: string,
  now: number,
  update: { nextRunAt: number; failures: number; result: string },
): Promise<boolean> {
  const row = await db
    .updateTable(table)
    .set({
      status: 'waiting',
      holder: null,
      lease_until: 0,
      next_run_at: update.nextRunAt,
      failures: update.failures,
      last_result: update.result,
      version: version + 1,
      updated_at: now,
    })
    .where('name', '=', name)
    .where('version', '=', version)
    .where('holder', '=', holder)
    .returning('name')
    .executeTakeFirst();
  return row !== undefined;
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
