import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Kysely } from 'kysely';
import { z } from 'zod';
import {
  type Backoff,
  clockSchema,
  exponential,
  functionSchema,
  InvalidArgumentError,
  parseOptions,
  systemClock,
  TimeoutError,
  type TimerHandle,
  TypedEmitter,
} from '../core/index.js';
import { type JobLossReason, JobLostError } from './errors.js';
import { resolveSchedule, type Schedule } from './schedule.js';
import { claim, ensureRow, release, renew, selectClaimable, toNumber } from './sql-queries.js';
import { type JobDb, type JobRow, tableNameSchema } from './sql-table.js';
import type {
  SqlJobOptions,
  SqlJobResult,
  SqlScheduler,
  SqlSchedulerEvents,
  SqlSchedulerOptions,
} from './sql-types.js';

const MAX_MS = 2 ** 31 - 1;
const backoffSchema = z.custom<Backoff>(
  (v) => typeof v === 'object' && v !== null && typeof (v as Backoff).delayMs === 'function',
  { message: 'must be a Backoff with delayMs()' },
);

const schema = z
  .strictObject({
    name: z.string().min(1).default('sql-scheduler'),
    table: tableNameSchema,
    workerId: z.string().min(1).max(255).optional(),
    leaseMs: z.number().int().min(10).max(MAX_MS).default(30_000),
    renewEveryMs: z.number().int().min(1).max(MAX_MS).optional(),
    pollMs: z.number().int().min(1).max(MAX_MS).default(1_000),
    clockSkewMs: z.number().int().min(0).max(MAX_MS).default(100),
    retry: backoffSchema.optional(),
    closeTimeoutMs: z.number().int().min(0).max(MAX_MS).default(5_000),
    clock: clockSchema.default(systemClock),
  })
  .refine((o) => o.renewEveryMs === undefined || o.renewEveryMs < o.leaseMs, {
    message: 'must be below leaseMs',
    path: ['renewEveryMs'],
  })
  .refine((o) => o.clockSkewMs < o.leaseMs - (o.renewEveryMs ?? Math.floor(o.leaseMs / 3)), {
    message: 'must be below leaseMs - renewEveryMs',
    path: ['clockSkewMs'],
  });

const jobSchema = z
  .strictObject({
    everyMs: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).optional(),
    cron: z.string().min(1).optional(),
    timezone: z.string().min(1).optional(),
    run: functionSchema<(signal: AbortSignal) => unknown>(),
    timeoutMs: z.number().int().min(1).max(MAX_MS).optional(),
    runImmediately: z.boolean().default(false),
    retry: backoffSchema.optional(),
  })
  .refine((o) => (o.everyMs === undefined) !== (o.cron === undefined), {
    message: 'needs exactly one of everyMs or cron',
    path: ['everyMs'],
  });

interface Registered {
  readonly name: string;
  readonly schedule: Schedule;
  readonly run: (signal: AbortSignal) => unknown;
  readonly timeoutMs: number | undefined;
  readonly retry: Backoff;
}

/** One job this worker holds: its row version, lease and timers. */
interface Held {
  readonly job: Registered;
  readonly controller: AbortController;
  readonly startedAt: number;
  readonly failures: number;
  version: number;
  leaseUntil: number;
  lostReason: JobLossReason | undefined;
  timedOut: boolean;
  renewTimer: TimerHandle | undefined;
  deadlineTimer: TimerHandle | undefined;
  timeoutTimer: TimerHandle | undefined;
  /** The renewal in flight, so the final write never races it. */
  pending: Promise<void>;
  done: Promise<void>;
}

/**
 * A job table with preemption: every worker registers the same jobs; a job is claimed
 * by one worker (compare-and-set on the row's `version`) when it is due, or when its
 * holder's lease expired because the holder stopped renewing. The holder renews every
 * `renewEveryMs`; a renewal that finds the row changed (preempted), or a lease running
 * out without a confirmed renewal, aborts the job's signal. When the run ends the row is
 * rescheduled: the next interval or cron time after success, a backoff after failure.
 * Needs `UPDATE ... RETURNING` (PostgreSQL, PGlite); create the table with
 * `createJobTable`. Times come from the injected clock, never from the database.
 *
 * @example
 * ```ts
 * import { createJobTable, sqlScheduler } from 'girder/jobs';
 *
 * await createJobTable(db);
 * const scheduler = sqlScheduler(db, { leaseMs: 30_000, pollMs: 2_000 });
 * await scheduler.register('expire-orders', {
 *   everyMs: 60_000,
 *   run: async (signal) => {
 *     await expireOrders({ signal });
 *   },
 * });
 * scheduler.start();
 * // on shutdown
 * await scheduler.close();
 * ```
 */
// biome-ignore lint/suspicious/noExplicitAny: any user database type; the table name is dynamic.
export function sqlScheduler(db: Kysely<any>, options: SqlSchedulerOptions = {}): SqlScheduler {
  const opts = parseOptions('sqlScheduler', schema, options);
  const jobsDb = db as JobDb;
  const { table, leaseMs, pollMs, clockSkewMs, clock, closeTimeoutMs } = opts;
  const renewEveryMs = opts.renewEveryMs ?? Math.floor(leaseMs / 3);
  const workerId =
    opts.workerId ?? `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  const defaultRetry = opts.retry ?? exponential({ initialMs: 1_000, maxMs: 60_000 });
  const events = new TypedEmitter<SqlSchedulerEvents>();
  const jobs = new Map<string, Registered>();
  const reserved = new Set<string>();
  const held = new Map<string, Held>();
  let pollTimer: TimerHandle | undefined;
  let started = false;
  let closed = false;
  let polling: Promise<number> | undefined;

  const clear = (handle: TimerHandle | undefined) => {
    if (handle !== undefined) clock.clearTimeout(handle);
  };

  const lose = (h: Held, reason: JobLossReason, cause?: unknown) => {
    if (h.lostReason !== undefined) return;
    h.lostReason = reason;
    clear(h.renewTimer);
    clear(h.deadlineTimer);
    h.renewTimer = h.deadlineTimer = undefined;
    events.emit('lost', { job: h.job.name, reason, heldMs: clock.now() - h.startedAt });
    h.controller.abort(new JobLostError(h.job.name, reason, { cause }));
  };

  const armDeadline = (h: Held) => {
    clear(h.deadlineTimer);
    const left = h.leaseUntil - clockSkewMs - clock.now();
    h.deadlineTimer = clock.setTimeout(() => lose(h, 'deadline'), Math.max(0, left));
  };

  const armRenew = (h: Held, delayMs: number) => {
    h.renewTimer = clock.setTimeout(() => {
      h.renewTimer = undefined;
      h.pending = renewOnce(h);
    }, delayMs);
  };

  const renewOnce = async (h: Held): Promise<void> => {
    if (h.lostReason !== undefined) return;
    const now = clock.now();
    const leaseUntil = now + leaseMs;
    try {
      const ok = await renew(jobsDb, table, h.job.name, h.version, workerId, now, leaseUntil);
      if (h.lostReason !== undefined) return;
      if (!ok) return lose(h, 'preempted');
      h.version += 1;
      h.leaseUntil = leaseUntil;
      armDeadline(h);
      events.emit('renewed', { job: h.job.name, leaseUntil });
      armRenew(h, renewEveryMs);
    } catch (error) {
      events.emit('error', { operation: 'renew', job: h.job.name, error });
      // The deadline timer aborts the job if no renewal lands before the lease ends;
      // until then keep trying, faster than the regular cadence.
      if (h.lostReason === undefined) armRenew(h, Math.max(1, Math.floor(renewEveryMs / 2)));
    }
  };

  const finish = async (h: Held, outcome: 'ok' | 'failed', error: unknown) => {
    clear(h.renewTimer);
    clear(h.deadlineTimer);
    clear(h.timeoutTimer);
    h.renewTimer = h.deadlineTimer = h.timeoutTimer = undefined;
    await h.pending;
    const now = clock.now();
    const job = h.job;
    let result: SqlJobResult = h.timedOut ? 'timeout' : outcome;
    if (h.lostReason === 'closed') result = 'aborted';
    let failures = result === 'ok' ? 0 : h.failures + 1;
    let nextRunAt: number | undefined;
    if (result === 'aborted') {
      // Shutting down: hand the run to another worker at once.
      failures = h.failures;
      nextRunAt = now;
    } else if (result === 'ok') {
      nextRunAt = job.schedule.next(now) ?? Number.MAX_SAFE_INTEGER;
    } else {
      nextRunAt = now + Math.ceil(job.retry.delayMs(failures));
    }
    let stillOurs = false;
    let failed = false;
    if (h.lostReason !== 'preempted') {
      try {
        stillOurs = await release(jobsDb, table, job.name, h.version, workerId, now, {
          nextRunAt,
          failures,
          result,
        });
      } catch (err) {
        // The row stays claimed until its lease expires; then any worker runs it again.
        failed = true;
        events.emit('error', { operation: 'finish', job: job.name, error: err });
      }
    }
    held.delete(job.name);
    if (failed) {
      nextRunAt = undefined;
    } else if (!stillOurs) {
      if (h.lostReason === undefined) lose(h, 'preempted');
      result = 'lost';
      nextRunAt = undefined;
    }
    events.emit('finished', {
      job: job.name,
      result,
      durationMs: now - h.startedAt,
      nextRunAt,
      error,
    });
  };

  const begin = (job: Registered, row: JobRow, version: number, now: number) => {
    const h: Held = {
      job,
      controller: new AbortController(),
      startedAt: now,
      failures: row.failures ?? 0,
      version,
      leaseUntil: now + leaseMs,
      lostReason: undefined,
      timedOut: false,
      renewTimer: undefined,
      deadlineTimer: undefined,
      timeoutTimer: undefined,
      pending: Promise.resolve(),
      done: Promise.resolve(),
    };
    held.set(job.name, h);
    armDeadline(h);
    armRenew(h, renewEveryMs);
    if (job.timeoutMs !== undefined) {
      const timeoutMs = job.timeoutMs;
      h.timeoutTimer = clock.setTimeout(() => {
        h.timedOut = true;
        h.controller.abort(new TimeoutError(timeoutMs));
      }, timeoutMs);
    }
    const preempted = row.status === 'running';
    events.emit('claimed', {
      job: job.name,
      workerId,
      preempted,
      lateMs: preempted ? now - toNumber(row.lease_until) : now - toNumber(row.next_run_at),
    });
    h.done = Promise.resolve()
      .then(() => job.run(h.controller.signal))
      .then(
        () => finish(h, 'ok', undefined),
        (error: unknown) => finish(h, 'failed', error),
      );
  };

  const pollOnce = async (): Promise<number> => {
    const names = [...jobs.keys()].filter((n) => !held.has(n));
    if (closed || names.length === 0) return 0;
    const now = clock.now();
    let rows: JobRow[];
    try {
      rows = await selectClaimable(jobsDb, table, names, now);
    } catch (error) {
      events.emit('error', { operation: 'poll', job: undefined, error });
      return 0;
    }
    let claimed = 0;
    for (const row of rows) {
      const job = jobs.get(row.name);
      if (closed || job === undefined || held.has(row.name)) continue;
      const version = toNumber(row.version);
      const at = clock.now();
      try {
        if (await claim(jobsDb, table, row.name, version, workerId, at, at + leaseMs)) {
          if (closed) {
            // Closed while claiming: give it straight back.
            await release(jobsDb, table, row.name, version + 1, workerId, at, {
              nextRunAt: at,
              failures: row.failures ?? 0,
              result: 'aborted',
            }).catch(() => undefined);
            continue;
          }
          begin(job, row, version + 1, at);
          claimed += 1;
        }
      } catch (error) {
        events.emit('error', { operation: 'claim', job: row.name, error });
      }
    }
    return claimed;
  };

  const poll = (): Promise<number> => {
    // One pass at a time: a second caller shares the pass in flight.
    polling ??= pollOnce().finally(() => {
      polling = undefined;
    });
    return polling;
  };

  const tick = () => {
    pollTimer = undefined;
    void poll().finally(() => {
      if (!closed) pollTimer = clock.setTimeout(tick, pollMs);
    });
  };

  const register = async (name: string, job: SqlJobOptions): Promise<void> => {
    if (typeof name !== 'string' || name.length === 0 || name.length > 200) {
      throw new InvalidArgumentError('name', 'must be a non-empty string of at most 200 chars');
    }
    if (closed) throw new InvalidArgumentError('scheduler', 'is closed');
    if (reserved.has(name))
      throw new InvalidArgumentError('name', `"${name}" is already registered`);
    const parsed = parseOptions(`sqlScheduler job "${name}"`, jobSchema, job);
    reserved.add(name);
    try {
      const schedule = await resolveSchedule(parsed);
      const now = clock.now();
      const first = parsed.runImmediately ? now : (schedule.next(now) ?? Number.MAX_SAFE_INTEGER);
      await ensureRow(jobsDb, table, name, now, first);
      jobs.set(name, {
        name,
        schedule,
        run: parsed.run,
        timeoutMs: parsed.timeoutMs,
        retry: parsed.retry ?? defaultRetry,
      });
    } catch (error) {
      reserved.delete(name);
      throw error;
    }
  };

  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    clear(pollTimer);
    pollTimer = undefined;
    await polling;
    const running = [...held.values()];
    for (const h of running) lose(h, 'closed');
    if (running.length === 0) return;
    let timer: TimerHandle | undefined;
    await Promise.race([
      Promise.all(running.map((h) => h.done)),
      new Promise<void>((resolve) => {
        timer = clock.setTimeout(resolve, closeTimeoutMs);
      }),
    ]);
    clear(timer);
  };

  return {
    name: opts.name,
    workerId,
    events,
    get running() {
      return [...held.keys()];
    },
    register,
    start() {
      if (closed) throw new InvalidArgumentError('scheduler', 'is closed');
      if (started) return;
      started = true;
      tick();
    },
    poll,
    close,
    [Symbol.asyncDispose]: close,
  };
}
