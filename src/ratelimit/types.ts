import type { Clock, EventSource, StoreFallbackEvents } from '../core/index.js';

/**
 * The answer of a limiter for one call. Every algorithm fills every field, so callers
 * (and the HTTP headers) never need to know which algorithm produced it.
 *
 * @example
 * ```ts
 * import { fixedWindow } from 'girder/ratelimit';
 *
 * const limiter = fixedWindow({ limit: 100, windowMs: 60_000 });
 * const decision = await limiter.limit('user:42');
 * if (!decision.allowed) console.log(`try again in ${decision.retryAfterMs} ms`);
 * ```
 */
export interface Decision {
  /** Whether the call may proceed (for pacing limiters: once `delayMs` has passed). */
  readonly allowed: boolean;
  /** The quota the decision was made against (`limit`, `capacity`, `max`...). */
  readonly limit: number;
  /** Whole units of quota left after this call (never negative). */
  readonly remaining: number;
  /**
   * Milliseconds until the quota is back to full if no further calls arrive (0 when it
   * already is). For `concurrencyLimit` it is the time until the oldest lease expires
   * when denied, 0 otherwise.
   */
  readonly resetAfterMs: number;
  /** When denied: milliseconds until the same call could be allowed. 0 when allowed. */
  readonly retryAfterMs: number;
  /**
   * Pacing delay: how long the caller must wait before acting on an allowed decision.
   * Only `leakyBucket` sets it; 0 for every other algorithm.
   */
  readonly delayMs: number;
}

/** What a limiter advertises about itself, e.g. for `RateLimit-Policy` headers. */
export interface RateLimitPolicy {
  /** The quota: requests (or cost units) per window, bucket capacity, or max in flight. */
  readonly quota: number;
  /**
   * The window the quota applies to, in ms (`capacity / refillPerSec` for a token bucket).
   * Undefined for `concurrencyLimit`, which has no time window.
   */
  readonly windowMs: number | undefined;
  /**
   * Largest `cost` one call may ask for: the quota (a leaky bucket's whole queue).
   * Larger costs are refused with `INVALID_ARGUMENT` before the store is touched.
   * Every girder limiter sets it; a hand-written limiter may leave it out.
   */
  readonly maxCost?: number;
  /** Whether `cost` must be a whole number (every algorithm except the two buckets). */
  readonly integerCost?: boolean;
}

export type { StoreErrorMode } from '../core/index.js';

/** Where a decision came from. */
export type DecisionSource = 'store' | 'fallback';

/**
 * Events every limiter emits on its `events` emitter: `decision`, plus core's
 * store-failure events (`storeError`, `fallback`, `recovered`; see `StoreFallbackEvents`
 * in `girder/core`).
 */
export type RateLimiterEvents = StoreFallbackEvents & {
  /** Every decision of `limit`/`wait`/`acquire` (not `peek`). */
  decision: {
    /** The key that was decided. */
    key: string;
    /** Units the call asked for. */
    cost: number;
    /** What the limiter answered. */
    decision: Decision;
    /** Who answered: the store, or the `onStoreError` fallback. */
    source: DecisionSource;
  };
};

/** Options of {@link RateLimiter.limit} and {@link RateLimiter.peek}. */
export interface LimitOptions {
  /** Units of quota this call consumes. Default 1. */
  cost?: number;
}

/** Options of {@link RateLimiter.wait}. */
export interface WaitOptions extends LimitOptions {
  /** Give up (rejecting with `AbortedError`) when this fires. */
  signal?: AbortSignal;
  /**
   * Longest time to wait, in ms. If the limiter says the call cannot be allowed within
   * it, `wait` rejects at once with `RateLimitedError` instead of sleeping in vain.
   * Default: unbounded.
   */
  maxWaitMs?: number;
}

/**
 * A rate limiter: every algorithm (`fixedWindow`, `tokenBucket`, ...) over every store
 * (`memoryStore`, `redisStore`) has this shape.
 *
 * @example
 * ```ts
 * import { tokenBucket } from 'girder/ratelimit';
 *
 * const limiter = tokenBucket({ capacity: 20, refillPerSec: 5 });
 * await limiter.wait('smtp'); // sleeps until a token is available
 * ```
 */
export interface RateLimiter<D extends Decision = Decision> {
  /** Algorithm id, e.g. `fixed-window`. */
  readonly algorithm: string;
  /** Namespace of this limiter's keys inside its store. */
  readonly name: string;
  /** The limiter's quota and window, for headers and docs. */
  readonly policy: RateLimitPolicy;
  /** The clock used for local decisions and for sleeping. */
  readonly clock: Clock;
  /** Decisions, store errors, fallback and recovery. */
  readonly events: EventSource<RateLimiterEvents>;
  /**
   * Decide one call for `key` now, consuming `cost` units when allowed. Never waits.
   * @throws InvalidArgumentError for an empty key or an unusable cost.
   */
  limit(key: string, options?: LimitOptions): Promise<D>;
  /**
   * Wait until the call is allowed (or reject with `RateLimitedError` when it cannot be
   * within `maxWaitMs`, or `AbortedError` when the signal fires), then resolve with the
   * allowed decision. For pacing limiters it also sleeps the decision's `delayMs`.
   */
  wait(key: string, options?: WaitOptions): Promise<D>;
  /**
   * What `limit` would answer now, consuming nothing: `allowed` says whether `cost`
   * would fit, `remaining` is the quota left right now.
   */
  peek(key: string, options?: LimitOptions): Promise<Decision>;
  /** Forget everything about `key`: its full quota is available again. */
  reset(key: string): Promise<void>;
}
