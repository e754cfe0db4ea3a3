// The cache contract on every layer combination.
import { afterAll } from 'vitest';
import { memoryBus, memoryCacheStore, redisBus, redisCacheStore } from '../../src/cache/index.js';
import { manualClock } from '../../src/core/index.js';
import {
  type ContractBackend,
  describeBackends,
  openRedisClient,
  type RedisBackendClient,
  uniquePrefix,
} from '../harness/index.js';
import { type CacheEnv, cacheContract } from './contract.js';

const START = 1_000_000;
const closers: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const close of closers) await close().catch(() => {});
});

const l1 = { maxEntries: 1_000 };

function redisBackend(
  name: string,
  client: 'redis' | 'redis-cluster',
  withL1: boolean,
): ContractBackend<CacheEnv> {
  let redis: RedisBackendClient | undefined;
  return {
    name,
    async open() {
      const c = await openRedisClient(client);
      redis = c;
      return {
        hasL1: withL1,
        shared: true,
        layers: () => {
          const prefix = uniquePrefix('cache').slice(0, -1);
          const bus = withL1 ? redisBus(c, { channel: `${prefix}:bus` }) : undefined;
          if (bus !== undefined) closers.push(() => bus.close());
          return {
            l1: withL1 ? l1 : false,
            l2: redisCacheStore(c, { prefix }),
            ...(bus === undefined ? {} : { bus }),
            clock: manualClock(START),
          };
        },
      };
    },
    close: async () => {
      for (const close of closers.splice(0)) await close().catch(() => {});
      redis?.disconnect();
    },
  };
}

describeBackends<CacheEnv>(
  [
    {
      name: 'l1-only',
      open: () => ({
        hasL1: true,
        shared: false,
        layers: () => ({ l1, bus: memoryBus(), clock: manualClock(START) }),
      }),
    },
    {
      name: 'l2-only memory',
      open: () => ({
        hasL1: false,
        shared: true,
        layers: () => {
          const clock = manualClock(START);
          return { l1: false, l2: memoryCacheStore({ clock }), clock };
        },
      }),
    },
    {
      name: 'two-level memory',
      open: () => ({
        hasL1: true,
        shared: true,
        layers: () => {
          const clock = manualClock(START);
          return { l1, l2: memoryCacheStore({ clock }), bus: memoryBus(), clock };
        },
      }),
    },
    redisBackend('l2-only redis', 'redis', false),
    redisBackend('two-level redis', 'redis', true),
    redisBackend('two-level redis-cluster', 'redis-cluster', true),
  ],
  (_name, env) => cacheContract(env),
);
