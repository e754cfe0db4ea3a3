// A queue worker: claims jobs with a lease, keeps the lease alive while sending, and
// finishes each claim (sent, retry with backoff, postpone, dead). A worker that dies
// loses nothing: its leases run out and another worker claims the jobs.

import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { z } from 'zod';
import {
  type Backoff,
  type Clock,
  clockSchema,
  type EventSource,
  exponential,
  functionSchema,
  isGirderError,
  parseOptions,
  systemClock,
  type TimerHandle,
  TypedEmitter,
} from '../core/index.js';
import type { SmsDetector } from './detector.js';
import { errorText, type SmsJob, type SmsQueue } from './queue.js';
import type { SmsQueueEvents } from './queue-events.js';
import type { SmsService } from './types.js';

/**
 * Options of {@link smsQueueWorker}.
 *
 * @example
 * ```ts
 * const options: SmsQueueWorkerOptions = { queue, concurrency: 8, leaseMs: 10_000 };
 * ```
 */
export interface SmsQueueWorkerOptions {
  /** The queue to work (`sqlSmsQueue`, `memorySmsQueue`). */
  queue: SmsQueue;
  /** This worker's id, stored with its leases. Default `<host>-<pid>-<random>`. */
  workerId?: string;
  /** Jobs sent at once, 1 to 1 000. Default 4. */
  concurrency?: number;
  /** Lease of a claim, ms (at least 100). A worker silent this long loses its jobs. Default 30 000. */
  leaseMs?: number;
  /** Renew held leases this often, ms; below `leaseMs`. Default `leaseMs / 3`. */
  renewEveryMs?: number;
  /**
   * Let go of a job (abort its send) this long before its lease ends, ms, and never start
   * a send with less left: room for late timers and clock drift. Below `leaseMs`.
   * Default `leaseMs / 5`.
   */
  safetyMarginMs?: number;
  /** Look for jobs this often when the queue is empty, or after a queue error, ms. Default 1 000. */
  pollMs?: number;
  /** Mark dead the jobs whose worker died on their last attempt this often, ms. Default 10 000. */
  reapEveryMs?: number;
  /** Delay before a failed attempt's retry (attempt = the failed one). Default exponential, 1 s to 60 s, full jitter. */
  backoff?: Backoff;
  /** Consulted before each send: `queue` postpones the job without using an attempt. Default none. */
  detector?: SmsDetector;
  /** How long a job waits when the detector says the provider is down, ms. Default 5 000. */
  downDelayMs?: number;
  /** A refusal by a rate limiter: the job is postponed (no attempt used). Default: code `RATE_LIMITED`. */
  isRateLimited?: (error: unknown) => boolean;
  /** A failure worth retrying; others kill the job at once. Default: all but invalid input (see the guide). */
  isRetryable?: (error: unknown) => boolean;
  /** Read the queue depth (the `depth` event) this often, ms; 0 never. Default 5 000. */
  depthEveryMs?: number;
  /** Time source of timers and durations. Default `systemClock`. */
  clock?: Clock;
  /** A name for logs and metrics. */
  name?: string;
}

/**
 * A running queue worker (see {@link smsQueueWorker}).
 *
 * @example
 * ```ts
 * const worker = smsQueueWorker(provider, { queue });
 * worker.start();
 * process.on('SIGTERM', () => worker.close());
 * ```
 */
export interface SmsQueueWorker {
  /** The worker id its leases carry. */
  readonly workerId: string;
  /** The `name` option, if given. */
  readonly name: string | undefined;
  /** The queue it works. */
  readonly queue: SmsQueue;
  /** Its events. */
  readonly events: EventSource<SmsQueueEvents>;
  /** True between `start()` and `close()`. */
  readonly running: boolean;
  /** Start the claim loop (no-op when running). */
  start(): void;
  /**
   * One round without the loop: reap, claim up to `concurrency` jobs, send them, and
   * resolve with how many were claimed once all are finished. For tests and cron-style use.
   */
  runOnce(): Promise<number>;
  /** Stop claiming and wait for the jobs in hand to finish. */
  close(): Promise<void>;
  /** Same as `close()`. */
  [Symbol.asyncDispose](): Promise<void>;
}

const INPUT_CODES = new Set([
  'INVALID_ARGUMENT',
  'INVALID_PHONE',
  'SMS_TOKEN_INVALID',
  'SMS_TEMPLATE_FORBIDDEN',
]);

/** @internal Default `isRateLimited`. */
export const isRateLimitedError = (error: unknown): boolean => isGirderError(error, 'RATE_LIMITED');

/**
 * @internal Default `isRetryable`: everything but errors in the message itself (invalid
 * input codes, and provider errors that say `retryable: false`, such as a template the
 * provider does not know).
 */
export const isRetryableError = (error: unknown): boolean =>
  !(isGirderError(error) && INPUT_CODES.has(error.code)) &&
  (error as { retryable?: unknown } | null)?.retryable !== false;

const detectorSchema = z.custom<SmsDetector>(
  (v) =>
    typeof v === 'object' &&
    v !== null &&
    typeof (v as SmsDetector).admit === 'function' &&
    typeof (v as SmsDetector).record === 'function',
  { message: 'must be an SmsDetector (admit and record)' },
);

/** @internal Shared with asyncFallback's `worker` option. */
export const workerFields = {
  workerId: z.string().min(1).max(200).optional(),
  concurrency: z.number().int().min(1).max(1_000).default(4),
  leaseMs: z.number().finite().min(100).max(86_400_000).default(30_000),
  renewEveryMs: z.number().finite().min(10).optional(),
  safetyMarginMs: z.number().finite().min(0).optional(),
  pollMs: z.number().finite().min(1).max(3_600_000).default(1_000),
  reapEveryMs: z.number().finite().min(1).max(86_400_000).default(10_000),
  backoff: z
    .custom<Backoff>((v) => typeof (v as Backoff | null)?.delayMs === 'function', {
      message: 'must be a Backoff (delayMs)',
    })
    .optional(),
  downDelayMs: z.number().finite().min(0).max(86_400_000).default(5_000),
  isRateLimited: functionSchema<(error: unknown) => boolean>().default(() => isRateLimitedError),
  isRetryable: functionSchema<(error: unknown) => boolean>().default(() => isRetryableError),
  depthEveryMs: z.number().finite().min(0).max(86_400_000).default(5_000),
  clock: clockSchema.default(systemClock),
  name: z.string().min(1).max(200).optional(),
};

const queueSchema = z.custom<SmsQueue>(
  (v) =>
    typeof v === 'object' &&
    v !== null &&
    typeof (v as SmsQueue).claim === 'function' &&
    typeof (v as SmsQueue).enqueue === 'function',
  { message: 'must be an SmsQueue (sqlSmsQueue, memorySmsQueue)' },
);

const serviceSchema = z.custom<SmsService>(
  (v) => typeof (v as SmsService | null)?.send === 'function',
  { message: 'must be an SmsService (send)' },
);

const schema = z
  .strictObject({ queue: queueSchema, detector: detectorSchema.optional(), ...workerFields })
  .refine((o) => o.renewEveryMs === undefined || o.renewEveryMs < o.leaseMs, {
    message: 'must be below leaseMs',
    path: ['renewEveryMs'],
  })
  .refine((o) => o.safetyMarginMs === undefined || o.safetyMarginMs < o.leaseMs, {
    message: 'must be below leaseMs',
    path: ['safetyMarginMs'],
  });

/**
 * Work an SMS queue: claim jobs with a lease, send each through `svc` (your provider
 * stack), renew the lease while the send runs, then mark the job sent, retry it after
 * a backoff, or — after its last attempt, or for a message the provider refuses as
 * invalid — mark it dead (`dead` event). A rate-limited send, or one the `detector`
 * holds back, is postponed without using an attempt. When a lease is lost (it ran out,
 * or another worker took the job), the send is aborted through its signal. Run it in
 * every process that should send queued messages; `asyncFallback` starts one itself
 * unless `workers: 0`.
 *
 * @throws InvalidOptionsError naming a bad option.
 *
 * @example
 * ```ts
 * import { Kysely, PostgresDialect } from 'kysely';
 * import pg from 'pg';
 * import { smsQueueWorker, sqlSmsQueue } from 'girder/sms';
 *
 * const db = new Kysely<unknown>({ dialect: new PostgresDialect({ pool: new pg.Pool() }) });
 * const worker = smsQueueWorker(provider, { queue: sqlSmsQueue(db), concurrency: 8 });
 * worker.start();
 * ```
 */
export function smsQueueWorker(svc: SmsService, options: SmsQueueWorkerOptions): SmsQueueWorker {
  parseOptions('smsQueueWorker', z.strictObject({ svc: serviceSchema }), { svc });
  const o = parseOptions('smsQueueWorker', schema, options);
  const { queue, clock } = o;
  const workerId = o.workerId ?? `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  const renewEveryMs = o.renewEveryMs ?? o.leaseMs / 3;
  const marginMs = o.safetyMarginMs ?? o.leaseMs / 5;
  const backoff = o.backoff ?? exponential({ initialMs: 1_000, maxMs: 60_000 });
  const events = new TypedEmitter<SmsQueueEvents>();
  const inFlight = new Set<Promise<void>>();
  let running = false;
  let loop: Promise<void> | undefined;
  let wake: (() => void) | undefined;
  let lastReap = Number.NEGATIVE_INFINITY;
  let lastDepth = Number.NEGATIVE_INFINITY;

  const queueError = (operation: SmsQueueEvents['queueError']['operation'], error: unknown) =>
    events.emit('queueError', { workerId, operation, error });

  // Runs a finishing call; a queue failure leaves the job leased, so it comes back later.
  const finish = async (
    operation: SmsQueueEvents['queueError']['operation'],
    call: () => Promise<boolean>,
  ) => {
    try {
      return await call();
    } catch (error) {
      queueError(operation, error);
      return false;
    }
  };

  const handle = async (job: SmsJob): Promise<void> => {
    let leaseUntil = job.leaseUntil;
    let lost = false;
    const controller = new AbortController();
    events.emit('claimed', {
      workerId,
      jobId: job.id,
      requestId: job.requestId,
      attempt: job.attempt,
      token: job.token,
      at: clock.now(),
      leaseUntil,
    });
    const loseLease = () => {
      if (lost) return;
      lost = true;
      controller.abort(new Error('lease lost'));
      events.emit('leaseLost', { workerId, jobId: job.id, attempt: job.attempt });
    };
    let expiry: TimerHandle | undefined;
    const armExpiry = () => {
      if (expiry !== undefined) clock.clearTimeout(expiry);
      expiry = clock.setTimeout(loseLease, Math.max(0, leaseUntil - marginMs - clock.now()));
    };
    let renewal: TimerHandle | undefined;
    let done = false;
    const renew = () => {
      renewal = undefined;
      queue.renew(job, o.leaseMs).then(
        (until) => {
          if (done || lost) return;
          if (until === undefined) return loseLease();
          leaseUntil = until;
          armExpiry();
          events.emit('renewed', {
            workerId,
            jobId: job.id,
            attempt: job.attempt,
            token: job.token,
            leaseUntil,
          });
          renewal = clock.setTimeout(renew, renewEveryMs);
        },
        (error) => {
          queueError('renew', error);
          if (!done && !lost) renewal = clock.setTimeout(renew, renewEveryMs);
        },
      );
    };
    armExpiry();
    renewal = clock.setTimeout(renew, renewEveryMs);
    const stopTimers = () => {
      done = true;
      if (expiry !== undefined) clock.clearTimeout(expiry);
      if (renewal !== undefined) clock.clearTimeout(renewal);
    };
    const postpone = async (reason: 'rate-limited' | 'down', delayMs: number) => {
      const releasedAt = clock.now();
      if (await finish('postpone', () => queue.postpone(job, delayMs))) {
        events.emit('postponed', { workerId, jobId: job.id, reason, delayMs, releasedAt });
      }
    };

    try {
      const verdict = o.detector?.admit() ?? 'send';
      if (verdict === 'queue') return await postpone('down', o.downDelayMs);
      if (clock.now() >= leaseUntil - marginMs) return loseLease();
      const start = clock.now();
      let error: unknown;
      let ok = false;
      try {
        await svc.send(job.message, controller.signal);
        ok = true;
      } catch (caught) {
        error = caught;
      }
      const durationMs = Math.max(0, clock.now() - start);
      // Lost: another worker owns the job now (or will). A success is still recorded
      // below: if nobody took the job yet, marking it sent saves a duplicate.
      if (lost && !ok) return;
      const rateLimited = !ok && o.isRateLimited(error);
      // Neither a rate limiter's refusal nor a message the provider rejects says anything
      // about the provider's health.
      if (!rateLimited && (ok || o.isRetryable(error))) {
        o.detector?.record({ ok, latencyMs: durationMs, probe: verdict === 'probe' });
      }
      const releasedAt = clock.now();
      if (ok) {
        stopTimers();
        if (await finish('complete', () => queue.complete(job))) {
          events.emit('sent', {
            workerId,
            jobId: job.id,
            requestId: job.requestId,
            attempt: job.attempt,
            durationMs,
            queuedForMs: Math.max(0, releasedAt - job.enqueuedAt),
            releasedAt,
          });
        } else loseLease();
        return;
      }
      stopTimers();
      if (rateLimited) {
        const after = (error as { retryAfterMs?: unknown }).retryAfterMs;
        return await postpone(
          'rate-limited',
          typeof after === 'number' && after >= 0 ? after : o.pollMs,
        );
      }
      if (job.attempt >= job.maxAttempts || !o.isRetryable(error)) {
        if (await finish('kill', () => queue.kill(job, errorText(error)))) {
          events.emit('dead', {
            workerId,
            jobId: job.id,
            requestId: job.requestId,
            attempts: job.attempt,
            error,
          });
        }
        return;
      }
      const delayMs = Math.max(0, backoff.delayMs(job.attempt));
      if (await finish('retry', () => queue.retry(job, delayMs, errorText(error)))) {
        events.emit('retried', {
          workerId,
          jobId: job.id,
          requestId: job.requestId,
          attempt: job.attempt,
          delayMs,
          error,
          releasedAt,
        });
      }
    } finally {
      stopTimers();
    }
  };

  const track = (job: SmsJob) => {
    const p = handle(job).finally(() => inFlight.delete(p));
    inFlight.add(p);
  };

  const reap = async () => {
    if (clock.now() - lastReap < o.reapEveryMs) return;
    lastReap = clock.now();
    try {
      for (const j of await queue.reap()) {
        events.emit('dead', {
          workerId,
          jobId: j.id,
          requestId: j.requestId,
          attempts: j.attempts,
          error: j.lastError,
        });
      }
    } catch (error) {
      queueError('reap', error);
    }
  };

  const readDepth = async () => {
    if (o.depthEveryMs === 0 || clock.now() - lastDepth < o.depthEveryMs) return;
    lastDepth = clock.now();
    try {
      const d = await queue.depth();
      events.emit('depth', { ...d, at: clock.now() });
    } catch (error) {
      queueError('depth', error);
    }
  };

  const claim = async (limit: number): Promise<SmsJob[]> => {
    try {
      return await queue.claim(workerId, limit, o.leaseMs);
    } catch (error) {
      queueError('claim', error);
      return [];
    }
  };

  const idle = (ms: number) =>
    new Promise<void>((resolve) => {
      const handle = clock.setTimeout(() => {
        wake = undefined;
        resolve();
      }, ms);
      wake = () => {
        clock.clearTimeout(handle);
        wake = undefined;
        resolve();
      };
    });

  const run = async () => {
    while (running) {
      await readDepth();
      await reap();
      const free = o.concurrency - inFlight.size;
      if (free <= 0) {
        await Promise.race(inFlight);
        continue;
      }
      if (!running) break;
      const jobs = await claim(free);
      for (const job of jobs) track(job);
      if (jobs.length < free && running) await idle(o.pollMs);
    }
  };

  const worker: SmsQueueWorker = {
    workerId,
    name: o.name,
    queue,
    events,
    get running() {
      return running;
    },
    start() {
      if (running) return;
      running = true;
      loop = run();
    },
    async runOnce() {
      lastReap = Number.NEGATIVE_INFINITY;
      await reap();
      const jobs = await claim(o.concurrency);
      await Promise.all(jobs.map((job) => handle(job)));
      return jobs.length;
    },
    async close() {
      running = false;
      wake?.();
      await loop;
      await Promise.all(inFlight);
    },
    [Symbol.asyncDispose]() {
      return worker.close();
    },
  };
  return worker;
}
