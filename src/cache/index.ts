/**
 * A two-level cache (lru-cache L1, Redis L2) with an invalidation bus, counters and top-N ranking.
 *
 * @module cache
 */
export {};
