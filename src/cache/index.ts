/**
 * A two-level cache (lru-cache L1, Redis L2) with an invalidation bus, counters and top-N ranking.
 *
 * @module cache
 */

// Counters (incremented only while loaded), top-N ranking, the ranking job.
export {
  type CounterEvents,
  type CounterInitOptions,
  type Counters,
  CountersClosedError,
  MAX_COUNTER_FIELDS,
} from './counters.js';
export { type MemoryCountersOptions, memoryCounters } from './counters-memory.js';
export { type RedisCountersOptions, redisCounters } from './counters-redis.js';
export {
  type RankingCache,
  RankingClosedError,
  type RankingContext,
  type RankingElection,
  type RankingJob,
  type RankingJobEvents,
  type RankingJobOptions,
  RankingTimeoutError,
  rankingJob,
} from './ranking-job.js';
export {
  type TopNEntry,
  type TopNOptions,
  type TopNPage,
  type TopNSource,
  topN,
} from './top-n.js';
