import { GirderError } from '../core/index.js';
import type { Decision } from './types.js';

/**
 * A call was refused by a rate limiter (code `RATE_LIMITED`). Thrown by the
 * `withRateLimit` decorator (the target is never called) and by `wait` when the call
 * cannot be allowed within `maxWaitMs`. Carries the decision, so callers can honour
 * `retryAfterMs`.
 *
 * @example
 * ```ts
 * import { RateLimitedError } from 'girder/ratelimit';
 *
 * try {
 *   await sms.send(phone, text);
 * } catch (err) {
 *   if (err instanceof RateLimitedError) console.log(`retry in ${err.retryAfterMs} ms`);
 * }
 * ```
 */
export class RateLimitedError extends GirderError {
  /** The key that was limited. */
  readonly key: string;
  /** The denying decision. */
  readonly decision: Decision;

  constructor(key: string, decision: Decision) {
    super('RATE_LIMITED', `rate limit exceeded for "${key}"; retry in ${decision.retryAfterMs} ms`);
    this.key = key;
    this.decision = decision;
  }

  /** Shortcut for `decision.retryAfterMs`. */
  get retryAfterMs(): number {
    return this.decision.retryAfterMs;
  }
}

/**
 * The store could not answer (code `STORE_UNAVAILABLE`): the Redis connection is down,
 * a command timed out, or a script failed. Limiters never throw it; they report it in
 * `storeError` / `fallback` events and answer according to `onStoreError`.
 *
 * @example
 * ```ts
 * limiter.events.on('storeError', ({ error }) => {
 *   if (error instanceof StoreUnavailableError) log.warn('rate-limit store down', { error });
 * });
 * ```
 */
export class StoreUnavailableError extends GirderError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('STORE_UNAVAILABLE', message, options);
  }
}

/**
 * The store was closed for good (code `STORE_CLOSED`), e.g. `redis.quit()` was called
 * on the ioredis client. This is a lifecycle bug in the caller rather than an outage, so
 * `limit` rejects with it whatever `onStoreError` says, and `redisStore` throws it at
 * construction for a client that is already ended.
 *
 * @example
 * ```ts
 * import { isGirderError } from 'girder/core';
 *
 * await limiter.limit('k').catch((err) => {
 *   if (isGirderError(err, 'STORE_CLOSED')) console.error('limiter used after shutdown');
 * });
 * ```
 */
export class StoreClosedError extends GirderError {
  constructor(message: string) {
    super('STORE_CLOSED', message);
  }
}
