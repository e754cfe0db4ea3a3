/**
 * Rate limiting: fixed window, sliding window (exact log and approximate counter),
 * token bucket, leaky bucket (pacing) and concurrency limits, each over an in-process
 * store or Redis (one atomic Lua script per decision, on the server's clock), with
 * store-failure fallback, typed events and the `withRateLimit` decorator.
 *
 * @module ratelimit
 */

export {
  type ConcurrencyDecision,
  type ConcurrencyLimiter,
  type ConcurrencyLimitOptions,
  concurrencyLimit,
} from './concurrency.js';
export {
  type RateLimitedOptions,
  rateLimited,
  type WaitLimit,
  type WithRateLimitOptions,
  withRateLimit,
} from './decorator.js';
export { RateLimitedError, StoreClosedError, StoreUnavailableError } from './errors.js';
export { type FixedWindowOptions, fixedWindow } from './fixed-window.js';
export {
  type LeakyBucketLimiter,
  type LeakyBucketOptions,
  leakyBucket,
} from './leaky-bucket.js';
export type { LimiterOptions, RateLimitStore } from './limiter.js';
export { type MemoryStore, type MemoryStoreOptions, memoryStore } from './memory-store.js';
export {
  type RedisClientLike,
  type RedisStore,
  type RedisStoreOptions,
  redisStore,
} from './redis-store.js';
export { type SlidingWindowOptions, slidingWindow } from './sliding-window.js';
export { type SlidingWindowLogOptions, slidingWindowLog } from './sliding-window-log.js';
export { type TokenBucketOptions, tokenBucket } from './token-bucket.js';
export type {
  Decision,
  DecisionSource,
  LimitOptions,
  RateLimiter,
  RateLimiterEvents,
  RateLimitPolicy,
  StoreErrorMode,
  WaitOptions,
} from './types.js';
export type { WindowLimitOptions } from './window.js';
