import { redisStreamsQueue } from '../../src/mq/index.js';
import { openRedisClient, type RedisBackendClient } from '../harness/store-contract.js';
import { uniquePrefix } from '../harness/unique-prefix.js';
import type { QueueBackend, QueueEnv } from './contract.js';

/** A Redis Streams backend of the queue contract. */
export function streamsBackend(name: 'redis' | 'redis-cluster'): QueueBackend {
  let client: RedisBackendClient;
  return {
    name,
    claims: true,
    async open(): Promise<QueueEnv> {
      client = await openRedisClient(name);
      return {
        makeQueue: ({ claimIdleMs }) =>
          redisStreamsQueue(client, {
            prefix: uniquePrefix('mq').replace(/:$/, ''),
            claimIdleMs,
            claimIntervalMs: 50,
            blockMs: 100,
            fetchErrorDelayMs: 50,
          }),
      };
    },
    async close() {
      client.disconnect();
    },
  };
}
