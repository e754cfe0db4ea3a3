// The Redis L2. One string key per entry, `{prefix:k:<key>}`, holding encodeStored's
// text with a PX TTL of ttl + grace; one key per invalidated tag, `{prefix:t:<tag>}`,
// holding its version. Every command goes through core's runner (deadlines, typed errors).
// Multi-key calls send one command per key concurrently: ioredis writes them back to back
// on each connection (pipelined, one batch per node on Cluster with
// enableAutoPipelining), and no call spans two hash slots.
import { z } from 'zod';
import {
  checkRedisClient,
  parseOptions,
  type RedisClient,
  redisKey,
  redisPrefixSchema,
  redisRunner,
  redisScript,
} from '../core/index.js';
import { decodeStored, encodeStored } from './entry.js';
import type { CacheStore } from './types.js';

/**
 * Options of {@link redisCacheStore}.
 *
 * @example
 * ```ts
 * import { redisCacheStore } from 'girder/cache';
 *
 * const l2 = redisCacheStore(redis, { prefix: 'shop:cache', commandTimeoutMs: 250 });
 * ```
 */
export interface RedisCacheStoreOptions {
  /** Prefix of every key (no braces). Default `girder:cache`. */
  prefix?: string;
  /** A command not answered within this many ms fails (an L2 outage for the cache). Default 500. */
  commandTimeoutMs?: number;
  /** How many keys `clear()` asks SCAN for per step. Default 500. */
  scanCount?: number;
}

const schema = z.strictObject({
  prefix: redisPrefixSchema('girder:cache'),
  commandTimeoutMs: z.number().int().min(0).max(86_400_000).default(500),
  scanCount: z.number().int().min(1).max(100_000).default(500),
});

// Raise a tag's version by one, or to ARGV[1] when that is higher; keep it ARGV[2] ms.
const BUMP_TAG = redisScript(`local v = tonumber(redis.call('GET', KEYS[1]) or '0') + 1
local floor = tonumber(ARGV[1])
if floor > v then v = floor end
redis.call('SET', KEYS[1], v, 'PX', ARGV[2])
return v`);

/**
 * An L2 store on Redis (ioredis 5 or 6, `Redis` or `Cluster`, duck-typed). Entries expire
 * with Redis TTLs (ttl + grace). It does not own the client: `close()` leaves it open.
 *
 * @throws InvalidArgumentError when `client` is not a Redis client.
 * @throws InvalidOptionsError for unknown or out-of-range options.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import { cache, redisCacheStore } from 'girder/cache';
 *
 * const redis = new Redis({ enableAutoPipelining: true });
 * const products = cache({ l2: redisCacheStore(redis, { prefix: 'shop:cache' }) });
 * ```
 */
export function redisCacheStore(
  client: RedisClient,
  options: RedisCacheStoreOptions = {},
): CacheStore {
  checkRedisClient(client);
  const { prefix, commandTimeoutMs, scanCount } = parseOptions('redisCacheStore', schema, options);
  const runner = redisRunner(client, { name: 'cache', commandTimeoutMs });
  const entryKey = (key: string) => redisKey(prefix, `k:${key}`);
  const tagKey = (tag: string) => redisKey(prefix, `t:${tag}`);
  const read = async (key: string) => decodeStored(await runner.command('GET', entryKey(key)));
  const write = async (key: string, text: string, ttlMs: number) => {
    await runner.command('SET', entryKey(key), text, 'PX', Math.max(1, Math.ceil(ttlMs)));
  };

  const clearNode = async (call: RedisClient['call'], keyPrefix: string | undefined) => {
    // `{prefix:` (or `{prefix:k:<keyPrefix>`) with glob characters escaped.
    const start = keyPrefix === undefined ? `{${prefix}:` : `{${prefix}:k:${keyPrefix}`;
    const pattern = `${start.replace(/[*?[\]\\]/g, '\\$&')}*`;
    let cursor = '0';
    do {
      const reply = (await call('SCAN', cursor, 'MATCH', pattern, 'COUNT', scanCount)) as [
        string,
        string[],
      ];
      cursor = reply[0];
      // One key per UNLINK: keys of one SCAN page live in different slots.
      await Promise.all(reply[1].map((key) => call('UNLINK', key)));
    } while (cursor !== '0');
  };

  return {
    kind: 'redis',
    get: read,
    getMany: (keys) => Promise.all(keys.map(read)),
    set: (key, entry, ttlMs) => write(key, encodeStored(entry), ttlMs),
    setMany: async (items) => {
      await Promise.all(items.map((i) => write(i.key, encodeStored(i.entry), i.storeTtlMs)));
    },
    delete: async (keys) => {
      await Promise.all(keys.map((key) => runner.command('UNLINK', entryKey(key))));
    },
    tagVersions: (tags) =>
      Promise.all(
        tags.map(async (tag) => Number((await runner.command('GET', tagKey(tag))) ?? 0) || 0),
      ),
    bumpTag: async (tag, floor, keepMs) =>
      Number(await runner.eval(BUMP_TAG, [tagKey(tag)], [floor, Math.max(1, Math.ceil(keepMs))])),
    clear: async (keyPrefix) => {
      const nodes = client.nodes?.('master');
      if (nodes === undefined) {
        await clearNode((...args) => runner.command(...(args as [string, ...string[]])), keyPrefix);
      } else {
        await Promise.all(nodes.map((node) => clearNode(node.call.bind(node), keyPrefix)));
      }
    },
    close: async () => runner.close(),
  };
}
