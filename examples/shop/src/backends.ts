// Where girder keeps shared state: in this process (the embedded default) or in Redis
// (REDIS_URL), so several shop instances share rate-limit counters, sessions, roles,
// the background-jobs leadership lock, the catalog cache (L2 + invalidation bus) and the
// product-view counters.

import {
  type CacheBus,
  type CacheStore,
  type Counters,
  memoryCounters,
  redisBus,
  redisCacheStore,
  redisCounters,
} from 'girder/cache';
import type { Clock } from 'girder/core';
import {
  memoryPolicyStore,
  memorySessionStore,
  type PolicyStore,
  redisPolicyStore,
  redisSessionStore,
  type SessionStore,
} from 'girder/jwt';
import { type Locker, memoryLock, redisLock } from 'girder/lock';
import { memoryStore, type RateLimitStore, redisStore } from 'girder/ratelimit';
import { Redis } from 'ioredis';

/** The shared layers of a cache: none (L1 only, embedded) or Redis L2 + bus. */
export interface CacheLayers {
  l2?: CacheStore;
  bus?: CacheBus;
}

export interface Backends {
  /** `memory` or `Redis (host:port)`, for logs. */
  description: string;
  rateLimitStore: RateLimitStore;
  sessionStore: SessionStore;
  policyStore: PolicyStore;
  /** Locks (the jobs' leader election): memoryLock, or redisLock shared by every instance. */
  locker: Locker;
  /** The L2 store and bus for the cache called `name` (empty when embedded). */
  cacheLayers(name: string): CacheLayers;
  /** Product-view counters: memoryCounters, or redisCounters shared by every instance. */
  counters: Counters;
  close(): Promise<void>;
}

export async function openBackends(
  redisUrl: string | undefined,
  prefix = 'shop:',
  clock?: Clock,
): Promise<Backends> {
  const clockOption = clock === undefined ? {} : { clock };
  if (redisUrl === undefined) {
    const rateLimitStore = memoryStore();
    const policyStore = memoryPolicyStore();
    const locker = memoryLock({ name: 'shop', ...clockOption });
    const counters = memoryCounters({ name: 'product-views', ...clockOption });
    return {
      description: 'memory',
      rateLimitStore,
      sessionStore: memorySessionStore(),
      policyStore,
      locker,
      cacheLayers: () => ({}),
      counters,
      async close() {
        counters.close();
        await locker.close();
        rateLimitStore.close();
        await policyStore.close();
      },
    };
  }
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2 });
  try {
    await redis.connect();
  } catch (err) {
    redis.disconnect();
    throw new Error(`cannot connect to Redis at REDIS_URL: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const url = new URL(redisUrl);
  const policyStore = redisPolicyStore(redis, { prefix: `${prefix}authz:` });
  const locker = redisLock(redis, { name: 'shop', prefix: `${prefix}lock`, ...clockOption });
  const counters = redisCounters(redis, { name: 'product-views', prefix: `${prefix}views` });
  // One bus (one subscriber connection) carries every cache's invalidations.
  const bus = redisBus(redis, { channel: `${prefix}cache:bus` });
  return {
    description: `Redis (${url.hostname}:${url.port || 6379})`,
    rateLimitStore: redisStore(redis, { prefix: `${prefix}rl` }),
    sessionStore: redisSessionStore(redis, { prefix: `${prefix}jwt:` }),
    policyStore,
    locker,
    cacheLayers: (name) => ({
      l2: redisCacheStore(redis, { prefix: `${prefix}cache:${name}` }),
      bus,
    }),
    counters,
    async close() {
      counters.close();
      await locker.close().catch(() => {});
      await bus.close().catch(() => {});
      await policyStore.close().catch(() => {});
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
