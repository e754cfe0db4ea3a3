import { z } from 'zod';
import {
  checkRedisClient,
  parseOptions,
  type RedisClient,
  RedisCommandError,
  type RedisRunner,
  type RedisScript,
  RedisUnavailableError,
  redisPrefixSchema,
  redisRunner,
  redisScript,
} from '../core/index.js';
import type { LuaScript } from './algorithm.js';
import { StoreClosedError, StoreUnavailableError } from './errors.js';

/**
 * The Redis client the Redis store takes: core's {@link RedisClient} (ioredis 5 or 6
 * `Redis` or `Cluster`; girder never imports ioredis).
 *
 * @example
 * ```ts
 * import { Cluster } from 'ioredis';
 * import { redisStore, type RedisClientLike } from 'girder/ratelimit';
 *
 * const client: RedisClientLike = new Cluster([{ host: '10.0.0.1', port: 7000 }], {
 *   enableAutoPipelining: true,
 * });
 * const store = redisStore(client);
 * ```
 */
export type RedisClientLike = RedisClient;

/**
 * Options of {@link redisStore}.
 *
 * @example
 * ```ts
 * import { type RedisStoreOptions, redisStore } from 'girder/ratelimit';
 *
 * const options: RedisStoreOptions = { prefix: 'api:rl', timeoutMs: 250 };
 * const store = redisStore(redis, options);
 * ```
 */
export interface RedisStoreOptions {
  /** Name used in error messages. Default `redis`. */
  name?: string;
  /**
   * Prefix of every key (no braces). Keys look like `{prefix:limiterName:key}`: the
   * braces are a Redis Cluster hash tag, so everything one decision touches lives in one
   * slot. Default `girder:rl`.
   */
  prefix?: string;
  /**
   * A store call not answered within this many ms fails (and the limiter falls back per
   * `onStoreError`), and a decision reaching Redis later than that (server clock) changes
   * nothing: a call the caller saw denied by the fallback never costs quota afterwards.
   * 0 disables both. Default 1 000.
   */
  timeoutMs?: number;
  /**
   * Script deadlines are moved this many ms earlier to allow for server clock drift
   * between two clock probes. Default 10.
   */
  clockSkewMs?: number;
}

const schema = z.strictObject({
  name: z.string().min(1).default('redis'),
  prefix: redisPrefixSchema('girder:rl'),
  timeoutMs: z.number().int().min(0).max(86_400_000).default(1_000),
  clockSkewMs: z.number().int().min(0).max(60_000).default(10),
});

/**
 * A Redis-backed store: every decision is one atomic Lua script (EVALSHA, reloaded with
 * EVAL after `NOSCRIPT`) that reads the Redis server's clock, so all instances of your
 * service share one quota and agree on time. Every key has a TTL. Works with ioredis
 * `Redis` and `Cluster`.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import { redisStore, slidingWindowLog } from 'girder/ratelimit';
 *
 * const redis = new Redis(process.env.REDIS_URL!, { enableAutoPipelining: true });
 * const limiter = slidingWindowLog({
 *   limit: 5,
 *   windowMs: 60_000,
 *   store: redisStore(redis, { prefix: 'shop:rl' }),
 * });
 * ```
 */
export interface RedisStore {
  /** Discriminant: `redis`. */
  readonly kind: 'redis';
  /** The key prefix. */
  readonly prefix: string;
  /** Stop the store's timers (the client stays yours to close); later calls fail as closed. */
  close(): void;
  /** Same as `close()`. */
  [Symbol.asyncDispose](): Promise<void>;
  /**
   * Run one algorithm step: `script` with `KEYS[1] = key`, `ARGV = [cost, extra?]`.
   * @internal
   */
  run(script: LuaScript, key: string, cost: string, extra?: string): Promise<unknown>;
  /**
   * Turn a failed `run` into the store's error (a rejection).
   * @internal
   */
  retry(
    error: unknown,
    script: LuaScript,
    key: string,
    cost: string,
    extra?: string,
  ): Promise<unknown>;
  /**
   * `run` one decision: `onReply` turns the reply into the result, `onError` handles any
   * failure (including a timeout). One promise per call.
   * @internal
   */
  decide<R>(
    script: LuaScript,
    key: string,
    cost: string,
    onReply: (_reply: unknown) => R,
    onError: (_error: unknown) => R | Promise<R>,
  ): Promise<R>;
  /**
   * `run`, then `retry` on failure.
   * @internal
   */
  call(script: LuaScript, key: string, cost: string, extra?: string): Promise<unknown>;
  /**
   * Delete one full key.
   * @internal
   */
  del(key: string): Promise<void>;
}

// Algorithm files define their scripts with ratelimit's `lua()`; the core registry adds
// the deadline prologue. One registered script per LuaScript object, found without hashing.
const registered = new WeakMap<LuaScript, RedisScript>();
const toScript = (script: LuaScript): RedisScript => {
  let found = registered.get(script);
  if (found === undefined) {
    found = redisScript(script.source);
    registered.set(script, found);
  }
  return found;
};

const identity = (reply: unknown) => reply;
const rethrow = (error: unknown): Promise<never> => Promise.reject(error);

/**
 * The store's error for a failed call: `StoreClosedError` for an ended client,
 * `StoreUnavailableError` (cause: core's `RedisUnavailableError`) for an outage, and
 * core's `RedisCommandError` as is for a script or argument error, which is no outage.
 */
function storeError(error: unknown): unknown {
  if (error instanceof StoreUnavailableError || error instanceof StoreClosedError) return error;
  if (error instanceof RedisCommandError) return error;
  if (error instanceof RedisUnavailableError) {
    if (error.reason === 'closed') return new StoreClosedError(error.message);
    return new StoreUnavailableError(error.message, { cause: error });
  }
  const detail = error instanceof Error ? error.message : String(error);
  return new StoreUnavailableError(`redis store call failed: ${detail}`, { cause: error });
}

class RedisStoreImpl implements RedisStore {
  readonly kind = 'redis' as const;
  readonly prefix: string;
  readonly #runner: RedisRunner;

  constructor(runner: RedisRunner, prefix: string) {
    this.#runner = runner;
    this.prefix = prefix;
  }

  run(script: LuaScript, key: string, cost: string, extra?: string): Promise<unknown> {
    return this.#runner.evalKey(toScript(script), key, cost, extra, identity, rethrow);
  }

  decide<R>(
    script: LuaScript,
    key: string,
    cost: string,
    onReply: (reply: unknown) => R,
    onError: (error: unknown) => R | Promise<R>,
  ): Promise<R> {
    return this.#runner.evalKey(toScript(script), key, cost, undefined, onReply, onError);
  }

  retry(error: unknown): Promise<unknown> {
    // The runner already reloaded the script after NOSCRIPT; what is left is a failure.
    return Promise.reject(storeError(error));
  }

  call(script: LuaScript, key: string, cost: string, extra?: string): Promise<unknown> {
    return this.#runner.evalKey(toScript(script), key, cost, extra, identity, (error) =>
      Promise.reject(storeError(error)),
    );
  }

  async del(key: string): Promise<void> {
    try {
      await this.#runner.command('DEL', key);
    } catch (error) {
      throw storeError(error);
    }
  }

  close(): void {
    this.#runner.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }
}

/**
 * Create a Redis store over your ioredis client (`Redis` or `Cluster`). Enable
 * `enableAutoPipelining` on the client: concurrent decisions then share round trips.
 *
 * @throws StoreClosedError when the client has already ended (`status === 'end'`).
 * @throws InvalidArgumentError when `client` is not an ioredis client.
 * @throws InvalidOptionsError for unknown options, a prefix with braces, or bad numbers.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import { fixedWindow, redisStore } from 'girder/ratelimit';
 *
 * const store = redisStore(new Redis({ enableAutoPipelining: true }), { prefix: 'api:rl' });
 * const limiter = fixedWindow({ limit: 1_000, windowMs: 60_000, store, onStoreError: 'local', instances: 4 });
 * ```
 */
export function redisStore(client: RedisClientLike, options: RedisStoreOptions = {}): RedisStore {
  checkRedisClient(client);
  if (client.status === 'end') {
    throw new StoreClosedError(
      'the ioredis client passed to redisStore has ended (status "end"); pass a connected client',
    );
  }
  const { name, prefix, timeoutMs, clockSkewMs } = parseOptions('redisStore', schema, options);
  const runner = redisRunner(client, { name, commandTimeoutMs: timeoutMs, clockSkewMs });
  return new RedisStoreImpl(runner, prefix);
}
