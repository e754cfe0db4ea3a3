/**
 * A two-level cache (lru-cache L1, Redis L2) with an invalidation bus, counters and top-N ranking.
 *
 * @module cache
 */

// ---- the cache (branch `cache`) ----
export { cache } from './cache.js';
export { CacheTimeoutError } from './errors.js';
export { memoryBus } from './memory-bus.js';
export { type MemoryCacheStoreOptions, memoryCacheStore } from './memory-store.js';
export { type RedisBusOptions, type RedisSubscriber, redisBus } from './redis-bus.js';
export { type RedisCacheStoreOptions, redisCacheStore } from './redis-store.js';
export type {
  BusHandlers,
  BusMessage,
  Cache,
  CacheBus,
  CacheEvents,
  CacheLayer,
  CacheOptions,
  CacheStore,
  CacheTimeouts,
  GetOrSetOptions,
  L1Options,
  Loader,
  LoaderContext,
  Serializer,
  SetOptions,
  StoredEntry,
} from './types.js';
// ---- end of the cache section ----

// ---- counters, top-N ranking, the ranking job (branch `cachex`) ----
export {
  type CounterEvents,
  type CounterInitOptions,
  type Counters,
  CountersClosedError,
  MAX_COUNTER_FIELDS,
} from './counters.js';
export { type MemoryCountersOptions, memoryCounters } from './counters-memory.js';
export { type RedisCountersOptions, redisCounters } from './counters-redis.js';
export { rankingJob } from './ranking-job.js';
export {
  type RankingCache,
  RankingClosedError,
  type RankingContext,
  type RankingJob,
  type RankingJobEvents,
  type RankingJobOptions,
  RankingTimeoutError,
} from './ranking-types.js';
export {
  type TopNEntry,
  type TopNOptions,
  type TopNPage,
  type TopNSource,
  topN,
} from './top-n.js';
// ---- end of the cachex section ----
