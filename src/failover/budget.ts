import { z } from 'zod';
import { type Clock, parseOptions } from '../core/index.js';
import { clockSchema, nameSchema, positiveMs } from './shared.js';

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
  /** Name of this budget, for logs and metrics (`budget.name`). */
  name?: string;
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
  /** The `name` option. */
  readonly name: string | undefined;
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
  windowMs: positiveMs().default(10_000),
  buckets: z.number().int().min(1).max(1_000).default(10),
  clock: clockSchema,
  name: nameSchema,
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
  const { ratio, minPerSec, windowMs, buckets, clock, name } = parseOptions(
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
    name,
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
