import { z } from 'zod';
import {
  AbortedError,
  type Backoff,
  type Clock,
  checkSignal,
  exponential,
  InvalidArgumentError,
  isAbortSignal,
  isGirderError,
  parseOptions,
  sleep,
  systemClock,
  type TypedEmitter,
  withTimeout,
} from '../core/index.js';
import type { RetryBudget } from './budget.js';
import { callerCancellation, clockSchema, fn, positiveMs } from './shared.js';

/** Why {@link retry} (or {@link withRetry}) stopped retrying and rethrew the last error. */
export type GiveUpReason =
  /** `attempts` were all used. */
  | 'attempts'
  /** `shouldRetry` said this error is not worth retrying. */
  | 'not-retryable'
  /** The shared retry budget is exhausted. */
  | 'budget';

/** Events of a {@link withRetry} decorator, on its `events` property. */
export type RetryEvents = {
  /** Attempt `attempt` failed; the next starts after `delayMs`. */
  retry: {
    /** The decorated method. */
    method: string;
    /** The failed attempt's number, from 1. */
    attempt: number;
    /** Delay before the next attempt, ms. */
    delayMs: number;
    /** The failed attempt's error. */
    error: unknown;
  };
  /** No more attempts: the caller gets `error`, the last attempt's error. */
  giveUp: {
    /** The decorated method. */
    method: string;
    /** Attempts made, the first included. */
    attempts: number;
    /** Why retrying stopped. */
    reason: GiveUpReason;
    /** The last attempt's error, which the caller gets. */
    error: unknown;
  };
};

/** The retry policy shared by {@link retry} and {@link withRetry}. */
export interface RetryPolicyOptions {
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
  /** Shared budget every retry must be granted by. Default: none (only `attempts` limits). */
  budget?: RetryBudget;
  /**
   * Deadline of each attempt; exceeding it fails that attempt with `TimeoutError` (and
   * fires the per-attempt signal the attempt gets). Default: none.
   */
  attemptTimeoutMs?: number;
  /** Time source for backoff waits and `attemptTimeoutMs`. Default `systemClock`. */
  clock?: Clock;
}

/** Options of {@link retry}: the policy plus the caller's signal. */
export interface RetryOptions extends RetryPolicyOptions {
  /**
   * The caller's cancellation: stops at once, also during a backoff wait, with
   * `AbortedError`. Anything but an `AbortSignal` is refused with `INVALID_ARGUMENT`.
   */
  signal?: AbortSignal;
}

const backoffSchema = z.custom<Backoff>(
  (v) => typeof (v as Backoff | undefined)?.delayMs === 'function',
  { message: 'must be a Backoff' },
);
const budgetSchema = z.custom<RetryBudget>(
  (v) => typeof (v as RetryBudget | undefined)?.tryAcquire === 'function',
  { message: 'must be a RetryBudget' },
);

/** @internal The schema of {@link RetryPolicyOptions}. */
export const policySchema = z.strictObject({
  attempts: z.number().int().min(1).max(1_000).default(3),
  backoff: backoffSchema.optional(),
  shouldRetry: fn<(error: unknown, attempt: number) => boolean>().optional(),
  budget: budgetSchema.optional(),
  attemptTimeoutMs: positiveMs().optional(),
  clock: clockSchema,
});

const retrySchema = policySchema.extend({
  signal: z.custom<AbortSignal>(isAbortSignal, { message: 'must be an AbortSignal' }).optional(),
});

/** @internal A parsed retry policy. */
export interface RetryPolicy {
  readonly attempts: number;
  readonly backoff: Backoff;
  readonly shouldRetry: (error: unknown, attempt: number) => boolean;
  readonly budget: RetryBudget | undefined;
  readonly attemptTimeoutMs: number | undefined;
  readonly clock: Clock;
}

const defaultBackoff: Backoff = exponential();
const defaultShouldRetry = (error: unknown) =>
  !isGirderError(error, 'INVALID_ARGUMENT') && !isGirderError(error, 'INVALID_OPTIONS');

/** @internal Fill in a parsed policy's defaults. */
export function toPolicy(parsed: z.output<typeof policySchema>): RetryPolicy {
  return {
    attempts: parsed.attempts,
    backoff: parsed.backoff ?? defaultBackoff,
    shouldRetry: parsed.shouldRetry ?? defaultShouldRetry,
    budget: parsed.budget,
    attemptTimeoutMs: parsed.attemptTimeoutMs,
    clock: parsed.clock,
  };
}

const retryKeys = new Set(Object.keys(retrySchema.shape));
const isFn = (v: unknown) => typeof v === 'function';

/**
 * The hot path: `retry` runs per call, so valid options are checked by hand (about 20x
 * cheaper than a zod parse). Anything unusual returns undefined and goes through the
 * schema, which produces the exact `InvalidOptionsError`.
 */
function quickParse(o: RetryOptions): RetryPolicy | undefined {
  for (const key in o) if (!retryKeys.has(key)) return undefined;
  const { attempts = 3, backoff, shouldRetry, budget, attemptTimeoutMs } = o;
  const clock = o.clock ?? systemClock;
  if (!Number.isInteger(attempts) || attempts < 1 || attempts > 1_000) return undefined;
  if (backoff !== undefined && !isFn(backoff?.delayMs)) return undefined;
  if (shouldRetry !== undefined && !isFn(shouldRetry)) return undefined;
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
  return {
    attempts,
    backoff: backoff ?? defaultBackoff,
    shouldRetry: shouldRetry ?? defaultShouldRetry,
    budget,
    attemptTimeoutMs,
    clock,
  };
}

/** @internal Where a retry loop reports to: withRetry's emitter and the method name. */
export interface RetryReport {
  readonly events: TypedEmitter<RetryEvents>;
  readonly method: string;
}

function giveUp(
  report: RetryReport | undefined,
  attempt: number,
  reason: GiveUpReason,
  error: unknown,
): never {
  report?.events.emit('giveUp', { method: report.method, attempts: attempt, reason, error });
  throw error;
}

/**
 * @internal
 * The one retry loop behind {@link retry} and {@link withRetry}. `signal` is the
 * caller's, already checked.
 */
export async function runRetry<R>(
  fn: (attempt: number, signal: AbortSignal | undefined) => Promise<R>,
  policy: RetryPolicy,
  signal: AbortSignal | undefined,
  report?: RetryReport,
): Promise<R> {
  const { attempts, backoff, shouldRetry, budget, attemptTimeoutMs, clock } = policy;
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
      if (attempt >= attempts) giveUp(report, attempt, 'attempts', error);
      if (!shouldRetry(error, attempt)) giveUp(report, attempt, 'not-retryable', error);
      if (budget && !budget.canRetry()) giveUp(report, attempt, 'budget', error);
      const delayMs = backoff.delayMs(attempt, previousDelay);
      if (!(delayMs >= 0) || delayMs === Number.POSITIVE_INFINITY) {
        throw new InvalidArgumentError('backoff', `returned ${delayMs}, not a finite delay >= 0`);
      }
      previousDelay = delayMs;
      if (report?.events.has('retry')) {
        report.events.emit('retry', { method: report.method, attempt, delayMs, error });
      }
      if (delayMs > 0) await sleep(delayMs, { signal, clock });
      else if (signal?.aborted) throw new AbortedError(signal.reason);
      // Spend the budget only when the retry really happens (not if the caller left meanwhile).
      if (budget && !budget.tryAcquire()) giveUp(report, attempt, 'budget', error);
    }
  }
}

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
 * - It has no events of its own: for `retry` and `giveUp` events, decorate the
 *   dependency with {@link withRetry} and read its `events`.
 *
 * @throws InvalidOptionsError naming each bad option; InvalidArgumentError
 *   (`INVALID_ARGUMENT`) when `fn` is not a function or `signal` not an `AbortSignal`.
 *   Both are rejections, and nothing (the budget included) is touched before them.
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
  if (options === null || typeof options !== 'object') {
    throw new InvalidArgumentError('options', 'must be an object');
  }
  const signal = checkSignal(options.signal, 'options.signal');
  const policy = quickParse(options) ?? toPolicy(parseOptions('retry', retrySchema, options));
  return runRetry(fn, policy, signal);
}
