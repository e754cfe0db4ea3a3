// The Redis backend: three token-checked scripts on core's runner. The lock and its fence
// counter share one hash tag, so each script touches one Cluster slot.
import { z } from 'zod';
import {
  checkRedisClient,
  parseOptions,
  type RedisClient,
  type RedisRunner,
  RedisUnavailableError,
  redisKey,
  redisPrefixSchema,
  redisRunner,
  redisScript,
} from '../core/index.js';
import type { AttemptReceiver, LockBackend, LockGrant, ReleaseReceiver } from './backend.js';
import { createLocker } from './locker.js';
import { lockerOptionFields, lockerSettings } from './options.js';
import type { Locker, LockerOptions } from './types.js';

/**
 * Options of {@link redisLock}: the common {@link LockerOptions} plus where the keys live
 * and how long one Redis command may take.
 *
 * @example
 * ```ts
 * import { type RedisLockOptions, redisLock } from 'girder/lock';
 *
 * const options: RedisLockOptions = { prefix: 'shop:lock', ttlMs: 10_000, commandTimeoutMs: 300 };
 * const locker = redisLock(redis, options);
 * ```
 */
export interface RedisLockOptions extends LockerOptions {
  /**
   * Prefix of every key (no braces). A lock on `key` is `{prefix:key}` and its fence
   * counter `{prefix:key}:fence`: one hash tag, so one Cluster slot. Default `girder:lock`.
   */
  prefix?: string;
  /**
   * A command not answered within this many ms fails, and a script reaching Redis later
   * than that (server clock) changes nothing. Keep it well below the TTL: a renewal
   * must be able to fail and be retried before the local deadline. Default 1 000.
   */
  commandTimeoutMs?: number;
}

const schema = z.strictObject({
  ...lockerOptionFields,
  prefix: redisPrefixSchema('girder:lock'),
  commandTimeoutMs: z.number().int().min(0).max(86_400_000).default(1_000),
});

// The three lock scripts carry no deadline prologue (`deadline: false`): a step reaching
// Redis after the client gave up on it is harmless here, and the prologue's TIME call
// and argument cost about a third of the server's work per acquire + release.
// - A late acquire takes the key under the caller's token: the next attempt of the same
//   acquire finds it (same token) and the locker releases it when the acquire fails.
//   Otherwise it only blocks the key until its TTL; fences still only increase.
// - A late extend keeps the key longer than the holder believes: the holder's local
//   deadline counts only from renewals it saw confirmed, so it stops earlier, not later.
// - A late release deletes the caller's own token only.

// KEYS[1] the lock, KEYS[2] its fence counter; ARGV token, ttl ms.
// Reply: the new fence, or 0 when another token holds the lock. When this token already
// holds it (an earlier attempt of the same acquire whose reply was lost), the TTL is set
// again and the current fence answered. The fence counter has no TTL: it must
// outlive every holder. When it is missing (first use, or Redis lost its data) it starts
// at the server time in microseconds, above every fence handed out before as long as
// fewer than a million locks a second were taken on the key and the clock did not step
// back: fences keep increasing across a restart without persistence.
const ACQUIRE = redisScript(
  `if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  if redis.call('GET', KEYS[1]) == ARGV[1] then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    return tonumber(redis.call('GET', KEYS[2]))
  end
  return 0
end
local fence = redis.call('INCR', KEYS[2])
if fence == 1 then
  local t = redis.call('TIME')
  fence = t[1] .. string.format('%06d', tonumber(t[2]))
  redis.call('SET', KEYS[2], fence)
end
return fence`,
  { deadline: false },
);

// KEYS[1] the lock; ARGV token, ttl ms. Reply 1: renewed; 0: gone or another holder's.
const EXTEND = redisScript(
  `if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0`,
  { deadline: false },
);

// KEYS[1] the lock; ARGV token. Reply 1: deleted; 0: gone or another holder's.
const RELEASE = redisScript(
  `if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0`,
  { deadline: false },
);

const isOne = (reply: unknown) => reply === 1;
// The fence comes back as an integer, or as a string when the counter was just seeded.
const toGrant = (reply: unknown): LockGrant | undefined => {
  const fence = Number(reply);
  return fence > 0 ? { fence } : undefined;
};
const rethrow = (error: unknown): never => {
  throw error;
};
// The fast paths' reply handlers: shared functions, the receiver comes as the context.
const grantTo = (reply: unknown, receiver: AttemptReceiver<unknown>) =>
  receiver.granted(toGrant(reply));
const failTo = (error: unknown, receiver: AttemptReceiver<unknown>) => receiver.failed(error);
const releasedTo = (reply: unknown, receiver: ReleaseReceiver<unknown>) =>
  receiver.releaseSettled(reply === 1);
const unknownTo = (_error: unknown, receiver: ReleaseReceiver<unknown>) =>
  receiver.releaseSettled(undefined);

class RedisBackend implements LockBackend {
  readonly kind = 'redis';
  readonly #runner: RedisRunner;
  // `redisKey(prefix, key)` is `{prefix:key}`: its constant head is built once, so a key
  // costs one concatenation per call instead of four.
  readonly #head: string;

  constructor(runner: RedisRunner, prefix: string) {
    this.#runner = runner;
    this.#head = redisKey(prefix, '').slice(0, -1);
  }

  #key(key: string): string {
    return `${this.#head + key}}`;
  }

  get callTimeoutMs(): number {
    return this.#runner.commandTimeoutMs;
  }

  tryLock(key: string, token: string, ttlMs: number): Promise<LockGrant | undefined> {
    const lockKey = this.#key(key);
    return this.#runner.evalKeys(
      ACQUIRE,
      [lockKey, `${lockKey}:fence`],
      [token, ttlMs],
      toGrant,
      rethrow,
    );
  }

  tryLockTo<R>(
    key: string,
    token: string,
    ttlMs: number,
    receiver: AttemptReceiver<R>,
  ): Promise<R> {
    const lockKey = this.#key(key);
    return this.#runner.evalKeys(
      ACQUIRE,
      [lockKey, `${lockKey}:fence`],
      [token, ttlMs],
      grantTo as (reply: unknown, receiver: AttemptReceiver<R>) => R,
      failTo as (error: unknown, receiver: AttemptReceiver<R>) => R,
      receiver,
    );
  }

  transient(error: unknown): boolean {
    return error instanceof RedisUnavailableError;
  }

  renew(key: string, token: string, ttlMs: number): Promise<'ok' | 'lost'> {
    return this.#runner.evalKey(
      EXTEND,
      this.#key(key),
      token,
      String(ttlMs),
      (reply) => (reply === 1 ? 'ok' : 'lost'),
      rethrow,
    );
  }

  release(key: string, token: string): Promise<boolean> {
    return this.#runner.evalKey(RELEASE, this.#key(key), token, undefined, isOne, rethrow);
  }

  releaseTo<R>(
    key: string,
    token: string,
    _fence: number,
    receiver: ReleaseReceiver<R>,
  ): Promise<R> {
    return this.#runner.evalKey(
      RELEASE,
      this.#key(key),
      token,
      undefined,
      releasedTo as (reply: unknown, receiver: ReleaseReceiver<R>) => R,
      unknownTo as (error: unknown, receiver: ReleaseReceiver<R>) => R,
      receiver,
    );
  }

  async close(): Promise<void> {
    this.#runner.close();
  }
}

/**
 * A {@link Locker} on Redis (ioredis `Redis` or `Cluster`). One script takes the lock
 * (`SET NX PX` with a random token) and increments the key's fence counter in the same
 * step; renewals and releases check the token, so a holder whose lock expired and was
 * taken by another can neither extend nor delete the new holder's lock. Waiting polls
 * with the `retry` backoff. The locker does not own the client: `close()` releases its
 * locks and stops its timers, and you quit the client yourself.
 *
 * Single instance (or one Cluster master per key): a failover to a replica that missed
 * the last writes can hand the lock out twice. Fences make that safe for resources that
 * check them (`fencedRedis`, `fencedUpdate`).
 *
 * @throws InvalidArgumentError when `client` is not a Redis client.
 * @throws InvalidOptionsError for unknown or out-of-range options.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import { redisLock } from 'girder/lock';
 *
 * const locker = redisLock(new Redis({ enableAutoPipelining: true }), { prefix: 'shop:lock' });
 * await locker.using('order:42', async (signal, lock) => {
 *   await settleOrder(42, { signal, fence: lock.fence });
 * }, { waitMs: 2_000 });
 * ```
 */
export function redisLock(client: RedisClient, options: RedisLockOptions = {}): Locker {
  checkRedisClient(client);
  const { prefix, commandTimeoutMs, ...common } = parseOptions('redisLock', schema, options);
  const settings = lockerSettings(common);
  const runner = redisRunner(client, { name: settings.name, commandTimeoutMs });
  return createLocker(new RedisBackend(runner, prefix), settings);
}
