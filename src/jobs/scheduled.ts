import { z } from 'zod';
import {
  type Backoff,
  type Clock,
  clockSchema,
  type EventSource,
  exponential,
  functionSchema,
  InvalidArgumentError,
  parseOptions,
  systemClock,
  TimeoutError,
  type TimerHandle,
  TypedEmitter,
} from '../core/index.js';
import type { Election } from './election-types.js';
import { isElection } from './leader.js';
import { resolveSchedule, type Schedule, type ScheduleSpec } from './schedule.js';

/**
 * How failed runs of a {@link scheduledJob} are retried before the run counts as failed.
 *
 * @example
 * ```ts
 * const retry: JobRetryOptions = { maxAttempts: 5, backoff: exponential({ initialMs: 200 }) };
 * ```
 */
export interface JobRetryOptions {
  /** Attempts per run, the first included. Default 3. */
  maxAttempts?: number;
  /** Delay before each retry. Default exponential 100 ms to 10 s, full jitter. */
  backoff?: Backoff;
}

/**
 * Options of {@link scheduledJob}.
 *
 * @example
 * ```ts
 * scheduledJob({ name: 'expire-orders', everyMs: 60_000, election, timeoutMs: 30_000, run: expireOrders });
 * ```
 */
export interface ScheduledJobOptions extends ScheduleSpec {
  /** Labels events and metrics. */
  name: string;
  /**
   * The work. Its signal aborts on `timeoutMs`, when this instance stops leading (reason:
   * `JobLostError`) and on `close()`.
   */
  run: (signal: AbortSignal) => unknown;
  /** Only the leader of this election runs the job. */
  election: Election;
  /** Abort a run attempt after this long and count it as a timeout. Default: no limit. */
  timeoutMs?: number;
  /** Retries of a failed run; `false` for none. Default `{ maxAttempts: 3 }`. */
  retry?: JobRetryOptions | false;
  /** Time source for the schedule and timeouts. Default `systemClock`. */
  clock?: Clock;
}

/** How the last run ended (`skipped`: the previous run was still going). */
export type JobResult = 'ok' | 'failed' | 'timeout' | 'skipped';

/**
 * Events of a {@link ScheduledJob}. Durations are in milliseconds.
 *
 * @example
 * ```ts
 * job.events.on('finished', ({ result, durationMs }) => log.info({ result, durationMs }, 'job ran'));
 * ```
 */
export type ScheduledJobEvents = {
  /** An attempt started on this instance (the leader). */
  started: {
    /** The job's name. */
    name: string;
    /** 1 for the first attempt of a run. */
    attempt: number;
    /** The slot this run belongs to (epoch ms). */
    scheduledAt: number;
  };
  /** An attempt failed and another follows. */
  retrying: {
    /** The job's name. */
    name: string;
    /** The attempt that failed. */
    attempt: number;
    /** Delay before the next attempt. */
    delayMs: number;
    /** What the attempt threw. */
    error: unknown;
  };
  /** A run ended (after its last attempt). */
  finished: {
    /** The job's name. */
    name: string;
    /** How the run ended. */
    result: 'ok' | 'failed' | 'timeout';
    /** Attempts made. */
    attempts: number;
    /** Duration of the run, retries included. */
    durationMs: number;
    /** What the last attempt threw; undefined after success. */
    error: unknown;
  };
  /** A due run did not start. */
  skipped: {
    /** The job's name. */
    name: string;
    /** `overlap`: the previous run still goes; `not-leader`: another instance leads. */
    reason: 'overlap' | 'not-leader';
    /** The slot skipped (epoch ms). */
    scheduledAt: number;
  };
};

/**
 * A job that runs on a schedule on exactly one instance of a cluster: the leader of its
 * election. Create one with {@link scheduledJob}.
 *
 * @example
 * ```ts
 * const job = scheduledJob({ name: 'refunds', everyMs: 30_000, election, run: retryRefunds });
 * await job.start();
 * console.log(job.nextRunAt, job.lastResult, job.lastDurationMs);
 * ```
 */
export interface ScheduledJob extends AsyncDisposable {
  /** From the `name` option. */
  readonly name: string;
  /** Typed events: started, retrying, finished, skipped. */
  readonly events: EventSource<ScheduledJobEvents>;
  /** When the next run is due (epoch ms), undefined before `start()`, after `close()`, or when a cron has no further run. */
  readonly nextRunAt: number | undefined;
  /** How the last run on this instance ended; undefined before the first. */
  readonly lastResult: JobResult | undefined;
  /** How long the last run on this instance took, retries included. */
  readonly lastDurationMs: number | undefined;
  /** True while a run is in progress on this instance. */
  readonly running: boolean;
  /**
   * Resolve the schedule (loading croner for `cron`) and arm the timer. Rejects with
   * `CronUnavailableError` or `InvalidArgumentError` (bad cron pattern).
   */
  start(): Promise<void>;
  /** Stop the schedule, abort a run in progress and wait for it to return. */
  close(): Promise<void>;
}

const MAX_MS = 2 ** 31 - 1;
const schema = z
  .strictObject({
    name: z.string().min(1).max(200),
    everyMs: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).optional(),
    cron: z.string().min(1).optional(),
    timezone: z.string().min(1).optional(),
    run: functionSchema<(signal: AbortSignal) => unknown>(),
    election: z.custom<Election>(isElection, {
      message: 'must be an Election (leaderElection, loadAwareElection)',
    }),
    timeoutMs: z.number().int().min(1).max(MAX_MS).optional(),
    retry: z
      .union([
        z.literal(false),
        z.strictObject({
          maxAttempts: z.number().int().min(1).max(1_000).default(3),
          backoff: z
            .custom<Backoff>(
              (v) =>
                typeof v === 'object' && v !== null && typeof (v as Backoff).delayMs === 'function',
              { message: 'must be a Backoff with delayMs()' },
            )
            .optional(),
        }),
      ])
      .default({ maxAttempts: 3 }),
    clock: clockSchema.default(systemClock),
  })
  .refine((o) => (o.everyMs === undefined) !== (o.cron === undefined), {
    message: 'needs exactly one of everyMs or cron',
    path: ['everyMs'],
  });

/**
 * A scheduled job that runs only on the current leader of `election`: every instance
 * keeps the same schedule (fixed-rate `everyMs` slots aligned on the epoch, or a cron
 * pattern through the optional peer `croner`), and at each due time the leader runs it
 * while the others skip it. A run still going when the next one is due makes that one
 * skipped; a failed attempt is retried with backoff; `timeoutMs` aborts an attempt.
 * Exactly-once per slot is as strong as the election: a leader that loses its lease
 * mid-run has its signal aborted, but work it already did stays done.
 *
 * @example
 * ```ts
 * import { leaderElection, scheduledJob } from 'girder/jobs';
 * import { redisLock } from 'girder/lock';
 *
 * const election = leaderElection({ locker: redisLock(redis), name: 'shop' });
 * const job = scheduledJob({
 *   name: 'expire-orders',
 *   everyMs: 60_000,
 *   timeoutMs: 20_000,
 *   election,
 *   run: (signal) => expireOrders({ signal }),
 * });
 * await job.start();
 * ```
 */
export function scheduledJob(options: ScheduledJobOptions): ScheduledJob {
  const opts = parseOptions('scheduledJob', schema, options);
  const { name, election, clock, timeoutMs } = opts;
  const maxAttempts = opts.retry === false ? 1 : opts.retry.maxAttempts;
  const backoff: Backoff =
    (opts.retry === false ? undefined : opts.retry.backoff) ??
    exponential({ initialMs: 100, maxMs: 10_000 });
  const events = new TypedEmitter<ScheduledJobEvents>();
  let schedule: Schedule | undefined;
  let starting: Promise<void> | undefined;
  let timer: TimerHandle | undefined;
  let nextRunAt: number | undefined;
  let lastResult: JobResult | undefined;
  let lastDurationMs: number | undefined;
  let current: Promise<void> | undefined;
  const closing = new AbortController();

  const arm = () => {
    if (closing.signal.aborted || schedule === undefined) return;
    nextRunAt = schedule.next(clock.now());
    if (nextRunAt === undefined) return;
    timer = clock.setTimeout(due, Math.max(0, nextRunAt - clock.now()));
  };

  function due() {
    timer = undefined;
    const scheduledAt = nextRunAt ?? clock.now();
    arm();
    if (current !== undefined) {
      lastResult = 'skipped';
      events.emit('skipped', { name, reason: 'overlap', scheduledAt });
      return;
    }
    if (!election.isLeader) {
      events.emit('skipped', { name, reason: 'not-leader', scheduledAt });
      return;
    }
    current = runAll(scheduledAt).finally(() => {
      current = undefined;
    });
  }

  const attempt = async (leadership: AbortSignal): Promise<'ok' | 'timeout'> => {
    const timeout = new AbortController();
    let timeoutTimer: TimerHandle | undefined;
    if (timeoutMs !== undefined) {
      timeoutTimer = clock.setTimeout(() => timeout.abort(new TimeoutError(timeoutMs)), timeoutMs);
    }
    const signal = AbortSignal.any([leadership, timeout.signal, closing.signal]);
    try {
      await opts.run(signal);
      return 'ok';
    } catch (error) {
      if (timeout.signal.aborted) throw Object.assign(new TimeoutMarker(), { error });
      throw error;
    } finally {
      if (timeoutTimer !== undefined) clock.clearTimeout(timeoutTimer);
    }
  };

  const waitMs = (ms: number, signal: AbortSignal) =>
    new Promise<void>((resolve) => {
      const t = clock.setTimeout(done, ms);
      function done() {
        signal.removeEventListener('abort', onAbort);
        resolve();
      }
      function onAbort() {
        clock.clearTimeout(t);
        resolve();
      }
      signal.addEventListener('abort', onAbort, { once: true });
    });

  const runAll = async (scheduledAt: number) => {
    const leadership = election.signal;
    const startedAt = clock.now();
    let result: 'ok' | 'failed' | 'timeout' = 'failed';
    let error: unknown;
    let attempts = 0;
    let previousDelay = 0;
    for (;;) {
      attempts += 1;
      events.emit('started', { name, attempt: attempts, scheduledAt });
      try {
        result = await attempt(leadership);
        error = undefined;
        break;
      } catch (caught) {
        const timedOut = caught instanceof TimeoutMarker;
        error = timedOut ? caught.error : caught;
        result = timedOut ? 'timeout' : 'failed';
      }
      const stop = leadership.aborted || closing.signal.aborted || attempts >= maxAttempts;
      if (stop) break;
      const delayMs = Math.max(0, backoff.delayMs(attempts, previousDelay));
      previousDelay = delayMs;
      events.emit('retrying', { name, attempt: attempts, delayMs, error });
      await waitMs(delayMs, AbortSignal.any([leadership, closing.signal]));
      if (leadership.aborted || closing.signal.aborted) break;
    }
    lastResult = result;
    lastDurationMs = clock.now() - startedAt;
    events.emit('finished', { name, result, attempts, durationMs: lastDurationMs, error });
  };

  const close = async () => {
    if (closing.signal.aborted) return;
    closing.abort(new InvalidArgumentError('job', 'closed'));
    if (timer !== undefined) clock.clearTimeout(timer);
    timer = undefined;
    nextRunAt = undefined;
    await current;
  };

  return {
    name,
    events,
    get nextRunAt() {
      return nextRunAt;
    },
    get lastResult() {
      return lastResult;
    },
    get lastDurationMs() {
      return lastDurationMs;
    },
    get running() {
      return current !== undefined;
    },
    start() {
      if (closing.signal.aborted) {
        return Promise.reject(new InvalidArgumentError('job', 'is closed'));
      }
      starting ??= resolveSchedule(opts).then((resolved) => {
        schedule = resolved;
        arm();
      });
      return starting;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** Tags an attempt that ended because its timeout fired. */
class TimeoutMarker {
  error: unknown;
}
