// The durable SmsQueue on SQL through Kysely (PostgreSQL, PGlite). Every operation is
// ONE statement, so it is atomic without a transaction (PGlite's single session cannot
// interleave two) and a worker killed between statements leaves nothing half-done.
import { type Kysely, type RawBuilder, sql } from 'kysely';
import { z } from 'zod';
import { type Clock, clockSchema, parseOptions, systemClock } from '../core/index.js';
import { maxAttemptsSchema } from './memory-queue.js';
import {
  checkClaim,
  checkDuration,
  checkRef,
  type EnqueueOptions,
  errorText,
  newJobId,
  queueableMessage,
  type SmsJob,
  type SmsJobInfo,
  type SmsJobRef,
  type SmsJobStatus,
  type SmsQueue,
  type SmsQueueDepth,
} from './queue.js';
import { tableSchema } from './sql-queue-schema.js';
import type { SmsMessage } from './types.js';

/**
 * How {@link sqlSmsQueue} claims jobs:
 * - `skip-locked`: one `UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED)`;
 *   concurrent workers skip each other's rows instead of waiting (PostgreSQL, PGlite,
 *   MySQL 8, Oracle);
 * - `cas`: read candidates, then claim each with a compare-and-set `UPDATE` on its
 *   fencing token; for dialects without `SKIP LOCKED`. Correct, but concurrent workers
 *   race for the same rows, so it scales worse.
 *
 * @example
 * ```ts
 * const claim: SmsClaimStrategy = 'cas';
 * const queue = sqlSmsQueue(db, { claim });
 * ```
 */
export type SmsClaimStrategy = 'skip-locked' | 'cas';

/**
 * Options of {@link sqlSmsQueue}.
 *
 * @example
 * ```ts
 * const options: SqlSmsQueueOptions = { table: 'sms_queue', maxAttempts: 5 };
 * ```
 */
export interface SqlSmsQueueOptions {
  /** The table made by `createSmsQueueTable` (optionally `schema.table`). Default `girder_sms_queue`. */
  table?: string;
  /** Attempts each job gets (1 to 1000), stored with the job when enqueued. Default 5. */
  maxAttempts?: number;
  /** See {@link SmsClaimStrategy}. Default `skip-locked`. */
  claim?: SmsClaimStrategy;
  /**
   * Time source of delays and leases. Lease times are compared across workers, so
   * their clocks must agree to well within a lease (NTP does). Default `systemClock`.
   */
  clock?: Clock;
  /** A name for logs and metrics. */
  name?: string;
}

const schema = z.strictObject({
  table: tableSchema,
  maxAttempts: maxAttemptsSchema,
  claim: z.enum(['skip-locked', 'cas']).default('skip-locked'),
  clock: clockSchema.default(systemClock),
  name: z.string().min(1).max(200).optional(),
});

const kyselySchema = z.custom<Kysely<unknown>>(
  (v) =>
    typeof v === 'object' &&
    v !== null &&
    typeof (v as Kysely<unknown>).selectFrom === 'function' &&
    typeof (v as Kysely<unknown>).executeQuery === 'function',
  { message: 'must be a Kysely instance' },
);

interface DbRow {
  id: string;
  request_id: string;
  message: string;
  status: SmsJobStatus;
  attempts: number | string;
  max_attempts: number | string;
  token: number | string;
  lease_until: number | string | null;
  enqueued_at: number | string;
  last_error: string | null;
}

const JOB_COLUMNS = sql.raw(
  'id, request_id, message, status, attempts, max_attempts, token, lease_until, enqueued_at, last_error',
);

const toJob = (r: DbRow): SmsJob => ({
  id: r.id,
  token: Number(r.token),
  requestId: r.request_id,
  message: JSON.parse(r.message) as SmsMessage,
  attempt: Number(r.attempts),
  maxAttempts: Number(r.max_attempts),
  leaseUntil: Number(r.lease_until),
  enqueuedAt: Number(r.enqueued_at),
  lastError: r.last_error ?? undefined,
});

const toInfo = (r: DbRow): SmsJobInfo => ({
  id: r.id,
  requestId: r.request_id,
  status: r.status,
  attempts: Number(r.attempts),
  maxAttempts: Number(r.max_attempts),
  lastError: r.last_error ?? undefined,
});

/**
 * A durable {@link SmsQueue} in a SQL table, through your Kysely instance: PostgreSQL
 * (`PostgresDialect`) or PGlite. Create the table first with `createSmsQueueTable`.
 * Enqueueing the same `requestId` twice stores one job (a unique index), claims take a
 * lease and a fencing token in one statement (`FOR UPDATE SKIP LOCKED`, or the `cas`
 * strategy), and every write after the claim is conditional on that token, so a worker
 * whose lease ran out cannot undo the work of the one that took over.
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
 * const queue = sqlSmsQueue(db, { maxAttempts: 5 });
 * ```
 */
export function sqlSmsQueue<DB>(db: Kysely<DB>, options: SqlSmsQueueOptions = {}): SmsQueue {
  parseOptions('sqlSmsQueue', z.strictObject({ db: kyselySchema }), { db });
  const o = parseOptions('sqlSmsQueue', schema, options);
  const clock = o.clock;
  const t = sql.table(o.table);
  const k = db as unknown as Kysely<unknown>;
  const rows = async (query: RawBuilder<DbRow>) => (await query.execute(k)).rows;
  // Counted from RETURNING, which every driver reports (numAffectedRows is not universal).
  const affected = async (query: RawBuilder<unknown>) =>
    (await sql<DbRow>`${query} RETURNING id`.execute(k)).rows.length > 0;
  // Rows that may be claimed at `now`: leased ones whose lease ran out, and due pending
  // ones. Two conditions, each served by its own index in its claim order.
  const expired = (now: number) =>
    sql`status = 'leased' AND lease_until <= ${now} AND attempts < max_attempts`;
  const due = (now: number) =>
    sql`status = 'pending' AND available_at <= ${now} AND attempts < max_attempts`;
  const EXPIRED_ORDER = sql.raw('lease_until, id');
  const DUE_ORDER = sql.raw('available_at, id');
  const held = (ref: SmsJobRef) => {
    const j = checkRef(ref);
    return sql`id = ${j.id} AND token = ${j.token} AND status = 'leased'`;
  };
  const leaseSet = (workerId: string, now: number, leaseMs: number) =>
    sql`status = 'leased', attempts = attempts + 1, token = token + 1,
      lease_owner = ${workerId}, lease_until = ${now + leaseMs}, updated_at = ${now}`;

  // Jobs whose worker died come first (they are the oldest work), then due pending ones.
  const claimBoth = async (
    now: number,
    limit: number,
    from: (where: RawBuilder<unknown>, order: RawBuilder<unknown>, n: number) => Promise<DbRow[]>,
  ) => {
    // RETURNING has no order: each group is put back in enqueue order (ids sort so).
    const byId = (a: DbRow, b: DbRow) => (a.id < b.id ? -1 : 1);
    const won = (await from(expired(now), EXPIRED_ORDER, limit)).sort(byId);
    if (won.length < limit) {
      won.push(...(await from(due(now), DUE_ORDER, limit - won.length)).sort(byId));
    }
    return won;
  };

  const claimSkipLocked = async (workerId: string, limit: number, leaseMs: number) => {
    const now = clock.now();
    const from = (where: RawBuilder<unknown>, order: RawBuilder<unknown>, n: number) =>
      rows(sql<DbRow>`UPDATE ${t} SET ${leaseSet(workerId, now, leaseMs)}
        WHERE id IN (SELECT id FROM ${t} WHERE ${where}
          ORDER BY ${order} LIMIT ${n} FOR UPDATE SKIP LOCKED)
        RETURNING ${JOB_COLUMNS}`);
    return claimBoth(now, limit, from);
  };

  const claimCas = async (workerId: string, limit: number, leaseMs: number) => {
    const now = clock.now();
    const from = async (where: RawBuilder<unknown>, order: RawBuilder<unknown>, n: number) => {
      const candidates = await rows(sql<DbRow>`SELECT id, token FROM ${t} WHERE ${where}
        ORDER BY ${order} LIMIT ${n}`);
      const won: DbRow[] = [];
      for (const c of candidates) {
        const [row] = await rows(sql<DbRow>`UPDATE ${t} SET ${leaseSet(workerId, now, leaseMs)}
          WHERE id = ${c.id} AND token = ${Number(c.token)} AND ${where}
          RETURNING ${JOB_COLUMNS}`);
        if (row !== undefined) won.push(row);
      }
      return won;
    };
    return claimBoth(now, limit, from);
  };

  const release = (status: SmsJobStatus, extra: RawBuilder<unknown>) =>
    sql`status = ${status}, lease_owner = NULL, lease_until = NULL, updated_at = ${clock.now()}, ${extra}`;

  return {
    kind: 'sql',
    name: o.name,
    maxAttempts: o.maxAttempts,
    async enqueue(message: SmsMessage, enqueueOptions: EnqueueOptions = {}) {
      const m = queueableMessage(message);
      const delayMs = checkDuration(enqueueOptions.delayMs ?? 0, 'options.delayMs');
      const now = clock.now();
      const id = newJobId(now);
      const [inserted] = await rows(sql<DbRow>`INSERT INTO ${t}
        (id, request_id, message, status, attempts, max_attempts, token, available_at, enqueued_at, updated_at)
        VALUES (${id}, ${m.requestId}, ${JSON.stringify(m)}, 'pending', 0, ${o.maxAttempts}, 0,
          ${now + delayMs}, ${now}, ${now})
        ON CONFLICT (request_id) DO NOTHING RETURNING id`);
      if (inserted !== undefined) return { jobId: id, requestId: m.requestId, duplicate: false };
      const [existing] = await rows(
        sql<DbRow>`SELECT id FROM ${t} WHERE request_id = ${m.requestId}`,
      );
      // Purged between the two statements: the caller may simply enqueue again.
      return { jobId: existing?.id ?? '', requestId: m.requestId, duplicate: true };
    },
    async claim(workerId, limit, leaseMs) {
      checkClaim(workerId, limit, leaseMs);
      const claimed =
        o.claim === 'cas'
          ? await claimCas(workerId, limit, leaseMs)
          : await claimSkipLocked(workerId, limit, leaseMs);
      return claimed.map(toJob);
    },
    async renew(job, leaseMs) {
      checkDuration(leaseMs, 'leaseMs', 1);
      const until = clock.now() + leaseMs;
      const ok = await affected(sql`UPDATE ${t} SET lease_until = ${until} WHERE ${held(job)}`);
      return ok ? until : undefined;
    },
    async complete(job) {
      return affected(sql`UPDATE ${t} SET ${release('sent', sql`last_error = last_error`)}
        WHERE ${held(job)}`);
    },
    async retry(job, delayMs, error) {
      checkDuration(delayMs, 'delayMs');
      const at = clock.now() + delayMs;
      return affected(sql`UPDATE ${t}
        SET ${release('pending', sql`available_at = ${at}, last_error = ${errorText(error)}`)}
        WHERE ${held(job)}`);
    },
    async postpone(job, delayMs) {
      checkDuration(delayMs, 'delayMs');
      const at = clock.now() + delayMs;
      return affected(sql`UPDATE ${t}
        SET ${release('pending', sql`available_at = ${at}, attempts = attempts - 1`)}
        WHERE ${held(job)}`);
    },
    async kill(job, error) {
      return affected(sql`UPDATE ${t} SET ${release('dead', sql`last_error = ${errorText(error)}`)}
        WHERE ${held(job)}`);
    },
    async reap() {
      const now = clock.now();
      const reaped = await rows(sql<DbRow>`UPDATE ${t}
        SET ${release('dead', sql`last_error = COALESCE(last_error, 'lease expired on the last attempt')`)}
        WHERE status = 'leased' AND lease_until <= ${now} AND attempts >= max_attempts
        RETURNING ${JOB_COLUMNS}`);
      return reaped.map(toInfo);
    },
    async depth() {
      const counts = await rows(
        sql<DbRow>`SELECT status, COUNT(*) AS attempts FROM ${t} GROUP BY status`,
      );
      const d = { pending: 0, leased: 0, sent: 0, dead: 0 };
      for (const c of counts) if (c.status in d) d[c.status] = Number(c.attempts);
      return d as SmsQueueDepth;
    },
    async get(requestId) {
      if (typeof requestId !== 'string') return undefined;
      const [row] = await rows(
        sql<DbRow>`SELECT ${JOB_COLUMNS} FROM ${t} WHERE request_id = ${requestId}`,
      );
      return row === undefined ? undefined : toInfo(row);
    },
    async purge(olderThanMs) {
      checkDuration(olderThanMs, 'olderThanMs');
      const before = clock.now() - olderThanMs;
      const gone = await rows(sql<DbRow>`DELETE FROM ${t}
        WHERE status IN ('sent', 'dead') AND updated_at < ${before} RETURNING id`);
      return gone.length;
    },
    async close() {},
    async [Symbol.asyncDispose]() {},
  };
}
