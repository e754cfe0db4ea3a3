// Where girder keeps shared state: in this process (the embedded default) or in Redis
// (REDIS_URL), so several shop instances share rate-limit counters, sessions and roles.

import {
  memoryPolicyStore,
  memorySessionStore,
  type PolicyStore,
  redisPolicyStore,
  redisSessionStore,
  type SessionStore,
} from 'girder/jwt';
import { memoryStore, type RateLimitStore, redisStore } from 'girder/ratelimit';
import { Redis } from 'ioredis';

export interface Backends {
  /** `memory` or `Redis (host:port)`, for logs. */
  description: string;
  rateLimitStore: RateLimitStore;
  sessionStore: SessionStore;
  policyStore: PolicyStore;
  close(): Promise<void>;
}

export async function openBackends(
  redisUrl: string | undefined,
  prefix = 'shop:',
): Promise<Backends> {
  if (redisUrl === undefined) {
    const rateLimitStore = memoryStore();
    const policyStore = memoryPolicyStore();
    return {
      description: 'memory',
      rateLimitStore,
      sessionStore: memorySessionStore(),
      policyStore,
      async close() {
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
  return {
    description: `Redis (${url.hostname}:${url.port || 6379})`,
    rateLimitStore: redisStore(redis, { prefix: `${prefix}rl` }),
    sessionStore: redisSessionStore(redis, { prefix: `${prefix}jwt:` }),
    policyStore,
    async close() {
      await policyStore.close().catch(() => {});
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
