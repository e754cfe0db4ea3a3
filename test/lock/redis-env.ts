// Contract environments of the Redis backends (single server and 3-master Cluster).
import { fileURLToPath } from 'node:url';
import type { Cluster } from 'ioredis';
import { redisLock } from '../../src/lock/index.js';
import {
  type ContractBackend,
  openRedisClient,
  type RedisBackendClient,
  sharedRedisCluster,
  sharedRedisUrl,
  uniquePrefix,
} from '../harness/index.js';
import type { LockContractEnv } from './contract.js';

const FACTORY = fileURLToPath(new URL('./fixtures/redis-locker.ts', import.meta.url));

/** The lock contract's backend on the shared Redis or the shared Redis Cluster. */
export function redisLockBackend(
  name: 'redis' | 'redis-cluster',
): ContractBackend<LockContractEnv & { client: RedisBackendClient }> {
  return {
    name,
    async open() {
      const client = await openRedisClient(name);
      const config =
        name === 'redis'
          ? { url: sharedRedisUrl() }
          : { cluster: [...(await sharedRedisCluster()).startupNodes] };
      return {
        client,
        lockers(count, options) {
          const prefix = uniquePrefix(`lock ${name}`).slice(0, -1);
          return Array.from({ length: count }, () => redisLock(client, { prefix, ...options }));
        },
        make: (options) => redisLock(client, options as never),
        contenders: { kind: 'processes', factoryModule: FACTORY, config },
      };
    },
    close(env) {
      (env.client as Cluster).disconnect();
    },
  };
}
