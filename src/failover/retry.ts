import { z } from 'zod';
import {
  AbortedError,
  type Backoff,
  type Clock,
  exponential,
  InvalidArgumentError,
  isGirderError,
  parseOptions,
  sleep,
  systemClock,
  TypedEmitter,
  withTimeout,
} from '../core/index.js';
import { callerCancellation, clockSchema, fn } from './shared.js';

/** Options of {@link retryBudget}. */
export interface RetryBudgetOptions {
  /** Retries allowed as a fraction of the calls in the window (0.2 = at most one retry per five calls). Default 0.2. */
  ratio?: number;
  /** Retries always allowed per second, so low-traffic callers can still retry. Default 10. */
  minPerSec?: number;
  /** Length of the sliding window calls and retries are counted over. Default 10 000 ms. */
  windowMs?: number;
  /** Buckets the window is kept in (its time resolution is `windowMs / buckets`). Default 10. */
  buckets?: number;
  /** Time source. Default `systemClock`. */
  clock?: Clock;
}

/** Counts of a {@link RetryBudget} over its current window. */
export interface RetryBudgetStats {
  /** Calls recorded in the window. */
  readonly calls: number;
  /** Retries spent in the window. */
  readonly retries: number;
  /** Retries that may still be spent now (fractional). */
  readonly available: number;
}

/**
 * A shared allowance of retries: over a sliding window, retries may be at most
 * `ratio` x the calls made plus `minPerSec` per second. Share one budget among every
 * `retry` that calls the same dependency; when it is down, the budget runs dry and
 * retries stop, so they cannot multiply the load on it.
 */
export interface RetryBudget {
  /** Record one call (a first attempt). `retry` does this for you. */
  recordCall(): void;
  /** Whether a retry could be spent now. */
  canRetry(): boolean;
  /** Spend one retry if the budget allows; false when it is exhausted. */
  tryAcquire(): boolean;
  /** Current counts. */
  stats(): RetryBudgetStats;
}

const budgetSchema = z.strictObject({
  ratio: z.number().finite().nonnegative().default(0.2),
  minPerSec: z.number().finite().nonnegative().default(10),
  windowMs: z.number().finite().positive().default(10_000),
  buckets: z.number().int().min(1).max(1_000).default(10),
  clock: clockSchema,
});

/**
 * Create a {@link RetryBudget}: retries capped at a fraction of recent calls, shared
 * across all the calls that use it (Finagle's and gRPC's retry-budget idea).
 *
 * @throws InvalidOptionsError naming each bad option.
 *
 * @example
 * ```ts
 * import { exponential } from 'girder/core';
 * import { retry, retryBudget } from 'girder/failover';
 *
 * // At most 1 retry per 10 calls (plus 1 per second) across the whole process.
 * const budget = retryBudget({ ratio: 0.1, minPerSec: 1 });
 * const user = await retry((attempt, signal) => fetchUser(id, { signal }), {
 *   attempts: 3,
 *   backoff: exponential({ initialMs: 50 }),
 *   budget,
 * });
 * ```
 */
export function retryBudget(options: RetryBudgetOptions = {}): RetryBudget {
  const { ratio, minPerSec, windowMs, buckets, clock } = parseOptions(
    'retryBudget',
    budgetSchema,
    options,
  );
  const bucketMs = windowMs / buckets;
  const reserve = (minPerSec * windowMs) / 1000;
  const calls = new Float64Array(buckets);
  const retries = new Float64Array(buckets);
  let totalCalls = 0;
  let totalRetries = 0;
  let head = Math.floor(clock.now() / bucketMs);

  /** Expire the buckets that slid out of the window; returns the current slot. */
  const slot = (): number => {
    const id = Math.floor(clock.now() / bucketMs);
    if (id > head) {
      const steps = Math.min(id - head, buckets);
      for (let s = 1; s <= steps; s++) {
        const i = (head + s) % buckets;
        totalCalls -= calls[i]!;
        totalRetries -= retries[i]!;
        calls[i] = 0;
        retries[i] = 0;
      }
      head = id;
    }
    return head % buckets;
  };
  const available = () => reserve + ratio * totalCalls - totalRetries;

  return {
    recordCall() {
      calls[slot()]! += 1;
      totalCalls += 1;
    },
    canRetry() {
      slot();
      return available() >= 1;
    },
    tryAcquire() {
      const i = slot();
      if (available() < 1) return false;
      retries[i]! += 1;
      totalRetries += 1;
      return true;
    },
    stats() {
      slot();
      return { calls: totalCalls, retries: totalRetries, available: available() };
    },
  };
}

/** Why {@link retry} stopped retrying and rethrew the last error. */
export type GiveUpReason =
  /** `attempts` were all used. */
  | 'attempts'
  /** `shouldRetry` said this error is not worth retrying. */
  | 'not-retryable'
  /** The shared retry budget is exhausted. */
  | 'budget';

/** Events emitted by {@link retry} on its `events` option. */
export type RetryEvents = {
  /** Attempt `attempt` failed; the next starts after `delayMs`. */
  retry: {
    /** The failed attempt's number, from 1. */
    attempt: number;
    /** Delay before the next attempt, ms. */
    delayMs: number;
    /** The failed attempt's error. */
    error: unknown;
  };
  /** No more attempts: the caller gets `error`, the last attempt's error. */
  giveUp: {
    /** Attempts made, the first included. */
    attempts: number;
    /** Why retrying stopped. */
    reason: GiveUpReason;
    /** The last attempt's error, which the caller gets. */
    error: unknown;
  };
};

/** Options of {@link retry}. */
export interface RetryOptions {
  /** Total attempts, the first included. Default 3. */
  attempts?: number;
  /** Delay before each retry. Default `exponential()` (100 ms doubling, full jitter, 30 s cap). */
  backoff?: Backoff;
  /**
   * Whether an error is worth another attempt (`attempt` is the one that failed, from 1).
   * Default: every error except `INVALID_ARGUMENT` and `INVALID_OPTIONS` (bugs, not
   * blips). The caller's own cancellation is never retried, whatever this returns.
   */
  shouldRetry?: (error: unknown, attempt: number) => boolean;
  /** The caller's cancellation: stops at once, also during a backoff wait, with `AbortedError`. */
  signal?: AbortSignal;
  /** Shared budget every retry must be granted by. Default: none (only `attempts` limits). */
  budget?: RetryBudget;
  /**
   * Deadline of each attempt; exceeding it fails that attempt with `TimeoutError` (and
   * fires the signal `fn` gets). Default: none.
   */
  attemptTimeoutMs?: number;
  /** Time source for backoff waits and `attemptTimeoutMs`. Default `systemClock`. */
  clock?: Clock;
  /** Emitter for `retry` and `giveUp` events. Default: none. */
  events?: TypedEmitter<RetryEvents>;
}

const retrySchema = z.strictObject({
  attempts: z.number().int().min(1).default(3),
  backoff: z
    .custom<Backoff>((v) => typeof (v as Backoff | undefined)?.delayMs === 'function', {
      message: 'must be a Backoff',
    })
    .optional(),
  shouldRetry: fn<(error: unknown, attempt: number) => boolean>().optional(),
  signal: z
    .custom<AbortSignal>((v) => v instanceof AbortSignal, { message: 'must be an AbortSignal' })
    .optional(),
  budget: z
    .custom<RetryBudget>((v) => typeof (v as RetryBudget | undefined)?.tryAcquire === 'function', {
      message: 'must be a RetryBudget',
    })
    .optional(),
  attemptTimeoutMs: z.number().finite().positive().optional(),
  clock: clockSchema,
  events: z
    .custom<TypedEmitter<RetryEvents>>((v) => v instanceof TypedEmitter, {
      message: 'must be a TypedEmitter',
    })
    .optional(),
});

const defaultBackoff: Backoff = exponential();

type ParsedRetryOptions = z.output<typeof retrySchema>;
const retryKeys = new Set(Object.keys(retrySchema.shape));
const isFn = (v: unknown) => typeof v === 'function';

/**
 * The hot path: `retry` runs per call, so valid options are checked by hand (about 20x
 * cheaper than a zod parse). Anything unusual returns undefined and goes through the
 * schema, which produces the exact `InvalidOptionsError`.
 */
function quickParse(o: RetryOptions): ParsedRetryOptions | undefined {
  if (o === null || typeof o !== 'object') return undefined;
  for (const key in o) if (!retryKeys.has(key)) return undefined;
  const { attempts = 3, backoff, shouldRetry, signal, budget, attemptTimeoutMs, events } = o;
  const clock = o.clock ?? systemClock;
  if (!Number.isInteger(attempts) || attempts < 1) return undefined;
  if (backoff !== undefined && !isFn(backoff?.delayMs)) return undefined;
  if (shouldRetry !== undefined && !isFn(shouldRetry)) return undefined;
  if (signal !== undefined && !(signal instanceof AbortSignal)) return undefined;
  if (budget !== undefined && !isFn(budget?.tryAcquire)) return undefined;
  if (
    attemptTimeoutMs !== undefined &&
    !(
      typeof attemptTimeoutMs === 'number' &&
      attemptTimeoutMs > 0 &&
      Number.isFinite(attemptTimeoutMs)
    )
  ) {
    return undefined;
  }
  if (!isFn(clock?.now) || !isFn(clock.setTimeout) || !isFn(clock.clearTimeout)) return undefined;
  if (events !== undefined && !(events instanceof TypedEmitter)) return undefined;
  return { attempts, backoff, shouldRetry, signal, budget, attemptTimeoutMs, clock, events };
}

function giveUp(
  events: TypedEmitter<RetryEvents> | undefined,
  attempt: number,
  reason: GiveUpReason,
  error: unknown,
): never {
  events?.emit('giveUp', { attempts: attempt, reason, error });
  throw error;
}

const defaultShouldRetry = (error: unknown) =>
  !isGirderError(error, 'INVALID_ARGUMENT') && !isGirderError(error, 'INVALID_OPTIONS');

/**
 * Run `fn` until it succeeds or `attempts` are used, waiting `backoff` between tries.
 * `fn(attempt, signal)` gets the attempt number (from 1) and a signal to pass on: the
 * per-attempt deadline's when `attemptTimeoutMs` is set, else the caller's `signal`
 * (`undefined` when there is neither, as in the breaker's `execute`).
 *
 * - The caller's abort (`signal`) stops at once, during an attempt or a backoff wait,
 *   with `AbortedError`; it is never retried and never spends the budget.
 * - With a `budget`, every call is recorded and every retry must be granted; when the
 *   dependency is down the budget runs dry and calls fail after one attempt instead of
 *   `attempts`, so retries cannot multiply an outage.
 * - When it gives up, it **rethrows the last attempt's error unchanged** (with its own
 *   `cause`), not a wrapper: code that matches on that error (a breaker's `isFailure`,
 *   failover's `shouldFailover`, your `catch`) behaves the same with or without retry.
 *   Why it gave up is in the `giveUp` event.
 *
 * @throws InvalidOptionsError naming each bad option; InvalidArgumentError when `fn` is not a function.
 *
 * @example
 * ```ts
 * import { exponential } from 'girder/core';
 * import { retry, retryBudget } from 'girder/failover';
 *
 * const budget = retryBudget({ ratio: 0.1 });
 * const order = await retry(
 *   (attempt, signal) => fetch(`http://orders/${id}`, { signal }).then((r) => r.json()),
 *   {
 *     attempts: 4,
 *     backoff: exponential({ initialMs: 100, maxMs: 2_000 }),
 *     attemptTimeoutMs: 1_000,
 *     signal: request.signal,
 *     budget,
 *   },
 * );
 * ```
 */
export async function retry<R>(
  fn: (attempt: number, signal: AbortSignal | undefined) => Promise<R>,
  options: RetryOptions = {},
): Promise<R> {
  if (typeof fn !== 'function') throw new InvalidArgumentError('fn', 'must be a function');
  const opts = quickParse(options) ?? parseOptions('retry', retrySchema, options);
  const { attempts, signal, budget, attemptTimeoutMs, clock, events } = opts;
  const backoff = opts.backoff ?? defaultBackoff;
  const shouldRetry = opts.shouldRetry ?? defaultShouldRetry;

  if (signal?.aborted) throw new AbortedError(signal.reason);
  budget?.recordCall();
  let previousDelay = 0;
  for (let attempt = 1; ; attempt++) {
    try {
      return await (attemptTimeoutMs === undefined
        ? fn(attempt, signal)
        : withTimeout((s) => fn(attempt, s), { timeoutMs: attemptTimeoutMs, signal, clock }));
    } catch (error) {
      const aborted = callerCancellation(error, signal);
      if (aborted) throw aborted;
      if (attempt >= attempts) giveUp(events, attempt, 'attempts', error);
      if (!shouldRetry(error, attempt)) giveUp(events, attempt, 'not-retryable', error);
      if (budget && !budget.canRetry()) giveUp(events, attempt, 'budget', error);
      const delayMs = backoff.delayMs(attempt, previousDelay);
      previousDelay = delayMs;
      events?.emit('retry', { attempt, delayMs, error });
      if (delayMs > 0) await sleep(delayMs, { signal, clock });
      else if (signal?.aborted) throw new AbortedError(signal.reason);
      // Spend the budget only when the retry really happens (not if the caller left meanwhile).
      if (budget && !budget.tryAcquire()) giveUp(events, attempt, 'budget', error);
    }
  }
}
