import { InvalidArgumentError } from '../errors.js';

/**
 * The part of a Redis client girder uses: ioredis' generic `call` and its connection
 * `status`. An ioredis (5 or 6) `Redis` or `Cluster` fits as is; girder never imports
 * ioredis itself. With a `Cluster`, `call` routes a command by its first key's slot, which
 * is why every girder key of one logical key shares a hash tag ({@link redisKey}).
 *
 * @example
 * ```ts
 * import { Cluster, Redis } from 'ioredis';
 * import type { RedisClient } from 'girder/core';
 *
 * const single: RedisClient = new Redis(process.env.REDIS_URL!);
 * const cluster: RedisClient = new Cluster([{ host: '10.0.0.1', port: 6379 }]);
 * ```
 */
export interface RedisClient {
  /**
   * ioredis connection status: `wait`/`connecting`/`connect` before the first connection,
   * `ready` when commands are served, `reconnecting`/`close` during an outage, `end`
   * once `quit()`/`disconnect()` was called.
   */
  readonly status: string;
  /** Send one command; resolves with its reply, rejects with the server's error. */
  call(command: string, ...args: (string | number)[]): Promise<unknown>;
  /**
   * ioredis' `evalsha(sha, numKeys, ...keysAndArgs)`: used for scripts when present (it
   * costs less per call than `call('EVALSHA', ...)`), else `call` is.
   */
  evalsha?(sha: string, ...args: (string | number)[]): Promise<unknown>;
  /**
   * Only on ioredis `Cluster`: the node clients. girder reads each master's clock once
   * in a while to bound script deadlines (see `redisRunner`).
   */
  nodes?: (role?: 'master' | 'slave' | 'all') => Array<{
    /** Send one command to this node. */
    call: RedisClient['call'];
  }>;
}

/**
 * Whether `value` has the {@link RedisClient} shape (`call` and `status`).
 *
 * @example
 * ```ts
 * import { isRedisClient } from 'girder/core';
 *
 * isRedisClient(new Redis()); // true
 * isRedisClient({ call() {} }); // false: no status
 * ```
 */
export function isRedisClient(value: unknown): value is RedisClient {
  return (
    value !== null &&
    typeof value === 'object' &&
    typeof (value as RedisClient).call === 'function' &&
    typeof (value as RedisClient).status === 'string'
  );
}

/**
 * Check that `value` is a {@link RedisClient} (for factories taking a client argument).
 *
 * @throws InvalidArgumentError naming `argument` otherwise.
 *
 * @example
 * ```ts
 * import { checkRedisClient } from 'girder/core';
 *
 * export function myStore(client: RedisClient) {
 *   checkRedisClient(client, 'client');
 * }
 * ```
 */
export function checkRedisClient(value: unknown, argument = 'client'): RedisClient {
  if (!isRedisClient(value)) {
    throw new InvalidArgumentError(
      argument,
      'must be an ioredis client (Redis or Cluster): an object with call() and status',
    );
  }
  return value;
}
