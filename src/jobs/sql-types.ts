import type { Backoff, Clock, EventSource } from '../core/index.js';
import type { JobLossReason } from './errors.js';
import type { ScheduleSpec } from './schedule.js';

/**
 * Options of {@link sqlScheduler}.
 *
 * @example
 * ```ts
 * const scheduler = sqlScheduler(db, { table: 'jobs', leaseMs: 30_000, renewEveryMs: 10_000, pollMs: 1_000 });
 * ```
 */
export interface SqlSchedulerOptions {
  /** Labels events and metrics. Default `'sql-scheduler'`. */
  name?: string;
  /** The job table (see `createJobTable`). Default `girder_jobs`. */
  table?: string;
  /** Identifies this worker in the `holder` column. Default `<hostname>:<pid>:<random>`. */
  workerId?: string;
  /**
   * How long a claim lasts without renewal. A worker that stops renewing (crashed,
   * paused) loses its jobs to others after this long. Default 30 000 ms.
   */
  leaseMs?: number;
  /** How often a running job's lease is renewed; below `leaseMs`. Default `leaseMs / 3`. */
  renewEveryMs?: number;
  /** How often the table is searched for claimable jobs. Default 1 000 ms. */
  pollMs?: number;
  /**
   * Worst clock difference expected between workers: a holder stops (aborts its job's
   * signal) this long before its lease ends by its own clock unless a renewal was
   * confirmed. Below `leaseMs - renewEveryMs`. Default 100 ms.
   */
  clockSkewMs?: number;
  /** Delay before retrying a failed run, by consecutive failures. Default exponential 1 s to 60 s, full jitter. */
  retry?: Backoff;
  /** How long `close()` waits for running jobs to return after aborting them. Default 5 000 ms. */
  closeTimeoutMs?: number;
  /** Time source for leases, schedules and timers. Default `systemClock`. */
  clock?: Clock;
}

/**
 * A job given to {@link SqlScheduler.register}: when it runs and what it does.
 *
 * @example
 * ```ts
 * await scheduler.register('expire-orders', {
 *   everyMs: 60_000,
 *   timeoutMs: 20_000,
 *   run: (signal) => expireOrders({ signal }),
 * });
 * ```
 */
export interface SqlJobOptions extends ScheduleSpec {
  /**
   * The work. Its signal aborts when this worker may no longer hold the job
   * (reason: `JobLostError`), on `timeoutMs`, and on `close()`.
   */
  run: (signal: AbortSignal) => unknown;
  /** Abort a run after this long and count it as failed (`timeout`). Default: no limit. */
  timeoutMs?: number;
  /** Run as soon as it is registered the first time, instead of at the first scheduled time. Default false. */
  runImmediately?: boolean;
  /** Delay before retrying a failed run. Default: the scheduler's `retry`. */
  retry?: Backoff;
}

/** How one run of a job ended. `lost`: another worker took it over before the end. */
export type SqlJobResult = 'ok' | 'failed' | 'timeout' | 'lost' | 'aborted';

/**
 * Events of a {@link SqlScheduler}. Times are epoch ms from the scheduler's clock.
 *
 * @example
 * ```ts
 * scheduler.events.on('finished', ({ job, result, durationMs }) => log.info({ job, result, durationMs }));
 * ```
 */
export type SqlSchedulerEvents = {
  /** This worker claimed a job. */
  claimed: {
    /** The job's name. */
    job: string;
    /** This worker's id. */
    workerId: string;
    /** True when it was taken from a holder whose lease had expired. */
    preempted: boolean;
    /** How long after it was due (or after the old lease ended) it was claimed. */
    lateMs: number;
  };
  /** A lease renewal was confirmed. */
  renewed: {
    /** The job's name. */
    job: string;
    /** The new end of the lease (epoch ms). */
    leaseUntil: number;
  };
  /** This worker may no longer run a job: its signal aborted. */
  lost: {
    /** The job's name. */
    job: string;
    /** Why. */
    reason: JobLossReason;
    /** How long this worker had held it. */
    heldMs: number;
  };
  /**
   * A run ended; `nextRunAt` is undefined when the job was lost (its new holder
   * reschedules it) or the final write failed (the row is claimable again once its
   * lease expires, so the job runs again then).
   */
  finished: {
    /** The job's name. */
    job: string;
    /** How the run ended. */
    result: SqlJobResult;
    /** Duration of the run. */
    durationMs: number;
    /** When the job is due next (epoch ms), as written to its row. */
    nextRunAt: number | undefined;
    /** What the run threw; undefined after success. */
    error: unknown;
  };
  /** A database call failed (the scheduler keeps going). */
  error: {
    /** The statement that failed. */
    operation: 'poll' | 'claim' | 'renew' | 'finish';
    /** The job concerned; undefined for a poll. */
    job: string | undefined;
    /** What the driver threw. */
    error: unknown;
  };
};

/**
 * Runs registered jobs from a SQL table so that each job runs on one worker at a time,
 * taken over by another worker when its holder stops renewing. Create one with
 * {@link sqlScheduler}.
 *
 * @example
 * ```ts
 * const scheduler = sqlScheduler(db, { leaseMs: 30_000 });
 * await scheduler.register('refund-retry', { everyMs: 60_000, run: retryRefunds });
 * scheduler.start();
 * ```
 */
export interface SqlScheduler extends AsyncDisposable {
  /** From the `name` option. */
  readonly name: string;
  /** This worker's id, written to the `holder` column of the jobs it runs. */
  readonly workerId: string;
  /** Typed events: claimed, renewed, lost, finished, error. */
  readonly events: EventSource<SqlSchedulerEvents>;
  /** Names of the jobs running on this worker now. */
  readonly running: readonly string[];
  /**
   * Add a job (and its row, if the table has none yet). Names are unique per scheduler;
   * every worker registers the same jobs. Rejects with `InvalidArgumentError` for a
   * duplicate or empty name, `CronUnavailableError` when `cron` is used without croner.
   */
  register(name: string, job: SqlJobOptions): Promise<void>;
  /** Start polling every `pollMs` (the first pass runs at once). */
  start(): void;
  /** One claim pass now: claims every due or abandoned job; resolves with how many were claimed. */
  poll(): Promise<number>;
  /** Stop polling, abort running jobs, release their rows (due at once for another worker). */
  close(): Promise<void>;
}
