// A resource that checks fences itself: the write and the "no older fence" check are one
// script, so a holder paused past its TTL cannot overwrite its successor's data.
import { z } from 'zod';
import {
  checkRedisClient,
  InvalidArgumentError,
  parseOptions,
  type RedisClient,
  type RedisRunner,
  redisKey,
  redisPrefixSchema,
  redisRunner,
  redisScript,
} from '../core/index.js';
import { FencedError } from './errors.js';
import { checkKey } from './options.js';

/**
 * Options of {@link fencedRedis}.
 *
 * @example
 * ```ts
 * import { type FencedRedisOptions, fencedRedis } from 'girder/lock';
 *
 * const options: FencedRedisOptions = { prefix: 'shop:stock', commandTimeoutMs: 300 };
 * const stock = fencedRedis(redis, options);
 * ```
 */
export interface FencedRedisOptions {
  /** Name used in error messages. Default `fenced`. */
  name?: string;
  /** Prefix of every key (no braces): a resource lives at `{prefix:resource}`. Default `girder:fenced`. */
  prefix?: string;
  /** Per-command deadline, as in `redisLock`. Default 1 000. */
  commandTimeoutMs?: number;
}

/**
 * One value under a fence, as {@link FencedRedis.read} returns it.
 *
 * @example
 * ```ts
 * const entry: FencedValue | undefined = await stock.read('sku-1');
 * console.log(entry?.value, entry?.fence);
 * ```
 */
export interface FencedValue {
  /** The last value written. */
  readonly value: string;
  /** The highest fence the resource has seen. */
  readonly fence: number;
}

/**
 * String values guarded by fences. Each resource remembers the highest fence that wrote
 * it; a write carrying a lower fence is refused with `FencedError` (`LOCK_FENCED`),
 * atomically with the check. An **equal** fence passes, so one holder may write many
 * times. Fences are only comparable within one lock key: guard a resource with one lock.
 *
 * @example
 * ```ts
 * import { fencedRedis, redisLock } from 'girder/lock';
 *
 * const stock = fencedRedis(redis, { prefix: 'shop:stock' });
 * await locker.using('sku-1', async (_signal, lock) => {
 *   const left = Number((await stock.read('sku-1'))?.value ?? '10');
 *   await stock.write('sku-1', lock.fence, String(left - 1));
 * });
 * ```
 */
export interface FencedRedis {
  /** From the `name` option. */
  readonly name: string;
  /**
   * Write `value` if `fence` is at least the highest fence seen for `resource`, and make
   * `fence` the highest. Rejects with `FencedError` otherwise (nothing written).
   */
  write(resource: string, fence: number, value: string): Promise<void>;
  /** The value and highest fence of `resource`, or `undefined` when never written. */
  read(resource: string): Promise<FencedValue | undefined>;
  /** Stop the runner's timers (the client stays yours). */
  close(): Promise<void>;
  /** Same as `close()`. */
  [Symbol.asyncDispose](): Promise<void>;
}

const schema = z.strictObject({
  name: z.string().min(1).max(200).default('fenced'),
  prefix: redisPrefixSchema('girder:fenced'),
  commandTimeoutMs: z.number().int().min(0).max(86_400_000).default(1_000),
});

// KEYS[1] the resource (a hash: fence, value); ARGV fence, value.
// Reply: '' when written, else the higher fence already seen (a string: fences exceed
// Lua's integer-reply range comfortably only as strings).
const WRITE = redisScript(`local current = redis.call('HGET', KEYS[1], 'fence')
if current and tonumber(current) > tonumber(ARGV[1]) then
  return current
end
redis.call('HSET', KEYS[1], 'fence', ARGV[1], 'value', ARGV[2])
return ''`);

const rethrow = (error: unknown): never => {
  throw error;
};

function checkFence(fence: unknown): number {
  if (typeof fence !== 'number' || !Number.isSafeInteger(fence) || fence < 0) {
    throw new InvalidArgumentError('fence', 'must be a safe integer >= 0 (a lock.fence)');
  }
  return fence;
}

/**
 * A {@link FencedRedis} on your ioredis client (`Redis` or `Cluster`). Use it for the
 * state a lock protects, so that a holder that paused (GC, SIGSTOP) past its TTL and
 * woke up after another took the lock is refused by the data itself.
 *
 * @throws InvalidArgumentError when `client` is not a Redis client.
 * @throws InvalidOptionsError for unknown or out-of-range options.
 *
 * @example
 * ```ts
 * import { FencedError, fencedRedis } from 'girder/lock';
 *
 * const balances = fencedRedis(redis, { prefix: 'bank' });
 * try {
 *   await balances.write('acct:1', lock.fence, '120');
 * } catch (err) {
 *   if (err instanceof FencedError) console.warn('a newer holder already wrote');
 * }
 * ```
 */
export function fencedRedis(client: RedisClient, options: FencedRedisOptions = {}): FencedRedis {
  checkRedisClient(client);
  const { name, prefix, commandTimeoutMs } = parseOptions('fencedRedis', schema, options);
  const runner: RedisRunner = redisRunner(client, { name, commandTimeoutMs });
  return {
    name,
    async write(resource, fence, value) {
      checkKey(resource);
      checkFence(fence);
      if (typeof value !== 'string') throw new InvalidArgumentError('value', 'must be a string');
      const refusedBy = await runner.evalKey(
        WRITE,
        redisKey(prefix, resource),
        String(fence),
        value,
        (reply) => (reply === '' ? undefined : Number(reply)),
        rethrow,
      );
      if (refusedBy !== undefined) throw new FencedError(resource, fence, refusedBy);
    },
    async read(resource) {
      checkKey(resource);
      const reply = (await runner.command('HMGET', redisKey(prefix, resource), 'fence', 'value')) as
        | [string | null, string | null]
        | null;
      if (reply === null || reply[0] === null) return undefined;
      return { fence: Number(reply[0]), value: reply[1] ?? '' };
    },
    async close() {
      runner.close();
    },
    async [Symbol.asyncDispose]() {
      runner.close();
    },
  };
}
