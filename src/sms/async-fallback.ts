// The sync-to-async decorator: send now while the provider is up and the rate limiter
// agrees; otherwise store the message in a durable queue and answer "queued".
import { z } from 'zod';
import {
  AbortedError,
  type Clock,
  checkSignal,
  clockSchema,
  type EventSource,
  functionSchema,
  isCallerCancellation,
  parseOptions,
  systemClock,
  TypedEmitter,
} from '../core/index.js';
import type { SmsDetector } from './detector.js';
import { healthDetector } from './detector-health.js';
import { queueableMessage, type SmsQueue } from './queue.js';
import { SmsQueueUnavailableError } from './queue-errors.js';
import type { QueuedReason, SmsQueueEvents } from './queue-events.js';
import {
  isRateLimitedError,
  isRetryableError,
  type SmsQueueWorker,
  type SmsQueueWorkerOptions,
  smsQueueWorker,
  workerFields,
} from './queue-worker.js';
import type { SmsMessage, SmsResult, SmsService } from './types.js';

/**
 * What `asyncFallback` does when a live send fails (not rate-limited, not cancelled):
 * - `throw`: rethrow it;
 * - `queue-when-down`: queue the message if the detector now judges the provider down,
 *   else rethrow;
 * - `queue`: always queue it.
 * Errors in the message itself (see `isRetryable`) are always rethrown.
 *
 * @example
 * ```ts
 * const mode: SendErrorMode = 'queue';
 * const sms = asyncFallback(provider, { queue, onSendError: mode });
 * ```
 */
export type SendErrorMode = 'throw' | 'queue-when-down' | 'queue';

/**
 * The worker settings `asyncFallback` passes to the workers it starts (`queue`,
 * `detector`, `clock`, `isRateLimited` and `isRetryable` come from its own options).
 *
 * @example
 * ```ts
 * const worker: FallbackWorkerOptions = { concurrency: 8, leaseMs: 10_000 };
 * ```
 */
export type FallbackWorkerOptions = Omit<
  SmsQueueWorkerOptions,
  'queue' | 'detector' | 'clock' | 'isRateLimited' | 'isRetryable'
>;

/**
 * Options of {@link asyncFallback}.
 *
 * @example
 * ```ts
 * const options: AsyncFallbackOptions = { queue, workers: 2, onSendError: 'queue' };
 * ```
 */
export interface AsyncFallbackOptions {
  /** Where queued messages go (`sqlSmsQueue` to survive restarts). */
  queue: SmsQueue;
  /** Judges the provider down; `false` for none (queue only rate-limited sends). Default `healthDetector()` on `clock`. */
  detector?: SmsDetector | false;
  /** A refusal by a rate limiter. Default: code `RATE_LIMITED` (girder's `RateLimitedError`). */
  isRateLimited?: (error: unknown) => boolean;
  /** A failure that may succeed later; others (invalid input) are never queued or retried. Default: all but invalid-input codes. */
  isRetryable?: (error: unknown) => boolean;
  /** See {@link SendErrorMode}. Default `queue-when-down`. */
  onSendError?: SendErrorMode;
  /** Queue workers to run in this process, 0 to 64 (0: another process runs `smsQueueWorker`). Default 1. */
  workers?: number;
  /** Settings of those workers. Default the `smsQueueWorker` defaults. */
  worker?: FallbackWorkerOptions;
  /** Start the workers now; otherwise call `start()`. Default true. */
  autoStart?: boolean;
  /** Time source of the detector, the workers and durations. Default `systemClock`. */
  clock?: Clock;
  /** A name for logs and metrics. */
  name?: string;
}

/**
 * The answer `asyncFallback` gives for a message it stored instead of sending: an
 * {@link SmsResult} with `provider: 'queued'`, no message ids yet, and `queued: true`.
 *
 * @example
 * ```ts
 * const result = await sms.send(message);
 * if (isQueued(result)) console.log('will be sent later as job', result.jobId);
 * ```
 */
export interface QueuedSmsResult extends SmsResult {
  /** Always `queued`. */
  readonly provider: 'queued';
  /** Always empty: the provider has not seen the message yet. */
  readonly messageIds: readonly [];
  /** Always true. */
  readonly queued: true;
  /** The queue job holding the message. */
  readonly jobId: string;
  /** Why it was queued. */
  readonly reason: QueuedReason;
  /** A job with this request id existed already (nothing new was stored). */
  readonly duplicate: boolean;
}

/**
 * True when `result` says the message was queued, not sent.
 *
 * @example
 * ```ts
 * const result = await sms.send(message);
 * reply.code(isQueued(result) ? 202 : 200).send(result);
 * ```
 */
export function isQueued(result: SmsResult): result is QueuedSmsResult {
  return (result as Partial<QueuedSmsResult>).queued === true;
}

/**
 * The service {@link asyncFallback} returns.
 *
 * @example
 * ```ts
 * const sms: AsyncFallbackSms = asyncFallback(provider, { queue });
 * sms.events.on('enqueued', ({ reason }) => console.log('queued:', reason));
 * await sms.close();
 * ```
 */
export interface AsyncFallbackSms extends SmsService {
  /** The `name` option, if given. */
  readonly name: string | undefined;
  /** The queue. */
  readonly queue: SmsQueue;
  /** The detector, if any. */
  readonly detector: SmsDetector | undefined;
  /** The workers this service runs (empty with `workers: 0`). */
  readonly workers: readonly SmsQueueWorker[];
  /** Its own events and its workers'. */
  readonly events: EventSource<SmsQueueEvents>;
  /** Start the workers (no-op when running). */
  start(): void;
  /** Stop the workers, waiting for their jobs in hand. Sends keep working, without workers. */
  close(): Promise<void>;
  /** Same as `close()`. */
  [Symbol.asyncDispose](): Promise<void>;
}

const WORKER_EVENTS = [
  'claimed',
  'renewed',
  'sent',
  'retried',
  'postponed',
  'dead',
  'leaseLost',
  'queueError',
  'depth',
] as const;

function forward<K extends keyof SmsQueueEvents>(
  from: EventSource<SmsQueueEvents>,
  name: K,
  to: TypedEmitter<SmsQueueEvents>,
): void {
  from.on(name, (payload) => to.emit(name, payload));
}

const schema = z.strictObject({
  queue: z.custom<SmsQueue>(
    (v) =>
      typeof (v as SmsQueue | null)?.enqueue === 'function' &&
      typeof (v as SmsQueue).claim === 'function',
    { message: 'must be an SmsQueue (sqlSmsQueue, memorySmsQueue)' },
  ),
  detector: z
    .union([
      z.literal(false),
      z.custom<SmsDetector>(
        (v) =>
          typeof (v as SmsDetector | null)?.admit === 'function' &&
          typeof (v as SmsDetector).record === 'function',
        { message: 'must be an SmsDetector (admit and record) or false' },
      ),
    ])
    .optional(),
  isRateLimited: functionSchema<(error: unknown) => boolean>().default(() => isRateLimitedError),
  isRetryable: functionSchema<(error: unknown) => boolean>().default(() => isRetryableError),
  onSendError: z.enum(['throw', 'queue-when-down', 'queue']).default('queue-when-down'),
  workers: z.number().int().min(0).max(64).default(1),
  worker: z
    .strictObject({
      workerId: workerFields.workerId,
      concurrency: workerFields.concurrency.optional(),
      leaseMs: workerFields.leaseMs.optional(),
      renewEveryMs: workerFields.renewEveryMs,
      safetyMarginMs: workerFields.safetyMarginMs,
      pollMs: workerFields.pollMs.optional(),
      reapEveryMs: workerFields.reapEveryMs.optional(),
      backoff: workerFields.backoff,
      downDelayMs: workerFields.downDelayMs.optional(),
      depthEveryMs: workerFields.depthEveryMs.optional(),
      name: workerFields.name,
    })
    .default({}),
  autoStart: z.boolean().default(true),
  clock: clockSchema.default(systemClock),
  name: z.string().min(1).max(200).optional(),
});

/**
 * Wrap an SMS stack so that a message is stored in a durable queue, not sent now, when
 * the send is refused by a rate limiter (girder's `RateLimitedError`, code
 * `RATE_LIMITED`) or when the `detector` judges the provider down; the caller then gets
 * a {@link QueuedSmsResult} (`provider: 'queued'`, `queued: true`; test it with
 * {@link isQueued}). Workers (`workers` in this process, or `smsQueueWorker` elsewhere)
 * send queued messages through the same stack, retrying with backoff up to the queue's
 * `maxAttempts`. A `requestId` is generated when the message has none, and the queue
 * stores one job per `requestId`.
 *
 * Put the rate limiter INSIDE this decorator (`asyncFallback(withRateLimit(...))`), so
 * its refusals are queued and the workers are paced by it too.
 *
 * @throws InvalidOptionsError naming a bad option.
 *
 * @example
 * ```ts
 * import { fixedWindow, withRateLimit } from 'girder/ratelimit';
 * import { asyncFallback, createSmsQueueTable, sqlSmsQueue } from 'girder/sms';
 *
 * await createSmsQueueTable(db);
 * const limited = withRateLimit(provider, fixedWindow({ limit: 100, windowMs: 1_000 }), { key: 'sms' });
 * const sms = asyncFallback(limited, { queue: sqlSmsQueue(db) });
 * const result = await sms.send({ to: ['+8613800000000'], template: 'welcome' });
 * ```
 */
export function asyncFallback(svc: SmsService, options: AsyncFallbackOptions): AsyncFallbackSms {
  parseOptions(
    'asyncFallback',
    z.strictObject({
      svc: z.custom<SmsService>((v) => typeof (v as SmsService | null)?.send === 'function', {
        message: 'must be an SmsService (send)',
      }),
    }),
    { svc },
  );
  const o = parseOptions('asyncFallback', schema, options);
  const { queue, clock } = o;
  const detector =
    o.detector === false ? undefined : (o.detector ?? healthDetector({ clock, name: o.name }));
  const events = new TypedEmitter<SmsQueueEvents>();
  const workers: SmsQueueWorker[] = [];
  for (let i = 0; i < o.workers; i++) {
    const w = smsQueueWorker(svc, {
      ...o.worker,
      ...(o.worker.workerId !== undefined && { workerId: `${o.worker.workerId}-${i}` }),
      queue,
      ...(detector !== undefined && { detector }),
      isRateLimited: o.isRateLimited,
      isRetryable: o.isRetryable,
      clock,
    });
    for (const name of WORKER_EVENTS) {
      forward(w.events, name, events);
    }
    workers.push(w);
  }

  const enqueue = async (
    message: SmsMessage & { requestId: string },
    reason: QueuedReason,
    sendError?: unknown,
  ) => {
    let stored: Awaited<ReturnType<SmsQueue['enqueue']>>;
    try {
      stored = await queue.enqueue(message);
    } catch (error) {
      throw new SmsQueueUnavailableError(message.requestId, error, sendError);
    }
    events.emit('enqueued', {
      requestId: stored.requestId,
      jobId: stored.jobId,
      reason,
      duplicate: stored.duplicate,
    });
    const result: QueuedSmsResult = {
      provider: 'queued',
      messageIds: [],
      requestId: stored.requestId,
      queued: true,
      jobId: stored.jobId,
      reason,
      duplicate: stored.duplicate,
    };
    return result;
  };

  const service: AsyncFallbackSms = {
    name: o.name,
    queue,
    detector,
    workers,
    events,
    async send(message, signal) {
      const s = checkSignal(signal);
      const m = queueableMessage(message);
      if (s?.aborted) throw new AbortedError(s.reason);
      const verdict = detector?.admit() ?? 'send';
      if (verdict === 'queue') return enqueue(m, 'down');
      const probe = verdict === 'probe';
      const start = clock.now();
      try {
        const result = await svc.send(m, s);
        const durationMs = Math.max(0, clock.now() - start);
        detector?.record({ ok: true, latencyMs: durationMs, probe });
        events.emit('direct', { requestId: m.requestId, ok: true, probe, durationMs });
        return result;
      } catch (error) {
        if (isCallerCancellation(error, s)) throw error;
        if (o.isRateLimited(error)) return enqueue(m, 'rate-limited', error);
        const durationMs = Math.max(0, clock.now() - start);
        const retryable = o.isRetryable(error);
        // A message the provider rejects says nothing about the provider's health.
        if (retryable) detector?.record({ ok: false, latencyMs: durationMs, probe });
        events.emit('direct', { requestId: m.requestId, ok: false, probe, durationMs });
        if (!retryable || o.onSendError === 'throw') throw error;
        const down = detector?.state === 'down';
        if (o.onSendError === 'queue' || down) return enqueue(m, down ? 'down' : 'error', error);
        throw error;
      }
    },
    start() {
      for (const w of workers) w.start();
    },
    async close() {
      await Promise.all(workers.map((w) => w.close()));
    },
    [Symbol.asyncDispose]() {
      return service.close();
    },
  };
  if (o.autoStart) service.start();
  return service;
}
