import { createHash } from 'node:crypto';

/**
 * The part of a Redis client girder/jwt uses: ioredis' generic `call`. An ioredis
 * `Redis` or `Cluster` instance fits as is; girder never imports ioredis itself.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import { redisSessionStore } from 'girder/jwt';
 *
 * const store = redisSessionStore(new Redis(process.env.REDIS_URL!));
 * ```
 */
export interface RedisCommandClient {
  /** Send one command; resolves with its reply. */
  call(command: string, ...args: (string | number)[]): Promise<unknown>;
}

/**
 * A Redis client that can also open a dedicated subscriber connection (ioredis:
 * `duplicate()`), for stores that listen to pub/sub notifications.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import { redisPolicyStore } from 'girder/jwt';
 *
 * const policies = redisPolicyStore(new Redis(process.env.REDIS_URL!)); // duplicates it to subscribe
 * ```
 */
export interface RedisPubSubClient extends RedisCommandClient {
  /** A new connection with the same settings. */
  duplicate(): RedisSubscriber;
}

/**
 * A connection in subscriber mode, as ioredis exposes it.
 *
 * @example
 * ```ts
 * const subscriber: RedisSubscriber = redis.duplicate();
 * await subscriber.subscribe('changes');
 * subscriber.on('message', (channel: string, message: string) => console.log(channel, message));
 * ```
 */
export interface RedisSubscriber {
  /** Subscribe to channels. */
  subscribe(...channels: string[]): Promise<unknown>;
  /** Listen to `message` (channel, message), `ready` (after every (re)connect) and `error`. */
  on(event: string, listener: (...args: never[]) => void): unknown;
  /** Close the connection. */
  quit(): Promise<unknown>;
}

/**
 * A Lua script run with EVALSHA, falling back to EVAL once when the server does not
 * know it yet (NOSCRIPT: first use, a restart, SCRIPT FLUSH).
 *
 * @internal
 */
export class RedisScript {
  readonly #source: string;
  readonly #sha: string;

  constructor(source: string) {
    this.#source = source;
    this.#sha = createHash('sha1').update(source).digest('hex');
  }

  async run(
    client: RedisCommandClient,
    keys: readonly string[],
    args: readonly (string | number)[],
  ): Promise<unknown> {
    try {
      return await client.call('EVALSHA', this.#sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return client.call('EVAL', this.#source, keys.length, ...keys, ...args);
    }
  }
}

/**
 * A Redis key prefix girder may put a `{hash tag}` after: it must not contain braces
 * itself, or the tag would not be the first one.
 *
 * @internal
 */
export function checkPrefix(prefix: string): boolean {
  return !prefix.includes('{') && !prefix.includes('}');
}
