/**
 * The Redis every Redis bench suite runs against: REDIS_URL when set, otherwise a
 * throwaway redis-server from the test harness. One ioredis client with
 * `enableAutoPipelining` (how a busy server uses it), on an emptied database.
 */
import { Redis } from 'ioredis';
import { type RedisServer, startRedis } from '../test/harness/redis.js';

export interface BenchRedis {
  /** The shared client: girder and its peers all use this one. */
  readonly client: Redis;
  /** Disconnect the client and stop the throwaway server, if one was started. */
  stop(): Promise<void>;
}

export async function benchRedis(): Promise<BenchRedis> {
  let server: RedisServer | undefined;
  let url = process.env.REDIS_URL?.trim();
  if (!url) {
    server = await startRedis();
    url = server.url;
  }
  const client = new Redis(url, { enableAutoPipelining: true });
  await client.flushdb();
  return {
    client,
    async stop() {
      client.disconnect();
      await server?.stop();
    },
  };
}
