import { z } from 'zod';
import { InvalidArgumentError, parseOptions } from '../core/index.js';
import type { LuaScript } from './algorithm.js';
import { StoreClosedError, StoreUnavailableError } from './errors.js';

/**
 * The part of an ioredis client (`Redis` or `Cluster`) the Redis store uses. Declared
 * structurally so `girder/ratelimit` never imports ioredis; pass your own client.
 */
export interface RedisClientLike {
  /** ioredis connection status (`ready`, `reconnecting`, `end`...). */
  readonly status: string;
  /** `EVALSHA sha numkeys key... arg...` */
  evalsha(sha: string, numKeys: number, ...keysAndArgs: string[]): Promise<unknown>;
  /** `EVAL script numkeys key... arg...` */
  eval(script: string, numKeys: number, ...keysAndArgs: string[]): Promise<unknown>;
  /** `DEL key` */
  del(key: string): Promise<number>;
}

/** Options of {@link redisStore}. */
export interface RedisStoreOptions {
  /**
   * Prefix of every key. Keys look like `{prefix:limiterName:key}`: the braces are a
   * Redis Cluster hash tag, so everything one decision touches lives in one slot.
   * Default `girder:rl`.
   */
  prefix?: string;
  /**
   * A store call not answered within this many ms fails (and the limiter falls back
   * per `onStoreError`), so an outage never hangs callers behind ioredis' offline
   * queue. 0 disables. Default 1 000.
   */
  timeoutMs?: number;
}

const schema = z.strictObject({
  prefix: z.string().min(1).default('girder:rl'),
  timeoutMs: z.number().int().min(0).default(1_000),
});

/**
 * A Redis-backed store: every decision is one atomic Lua script (EVALSHA, reloaded
 * with EVAL after `NOSCRIPT`) that reads the Redis server's clock, so all instances of
 * your service share one quota and agree on time. Every key gets a TTL.
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
  /**
   * Run one algorithm step: `script` with `KEYS[1] = key`, `ARGV = [cost, extra?]`.
   * @internal
   */
  run(script: LuaScript, key: string, cost: string, extra?: string): Promise<unknown>;
  /**
   * Handle a failed `run`: re-run with EVAL after `NOSCRIPT`, else reject with the
   * error wrapped as a store error.
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
   * `run` one decision: `onReply` turns the reply into the result, `onError` handles
   * any failure (including a timeout). One promise per call.
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

/** One call under a deadline. */
class Pending {
  settled = false;
  deadline = 0;
  reject: (error: unknown) => void = noop;
}

const noop = () => {};

const isNoScript = (error: unknown) =>
  error instanceof Error && error.message.startsWith('NOSCRIPT');

class RedisStoreImpl implements RedisStore {
  readonly kind = 'redis' as const;
  readonly prefix: string;
  readonly #client: RedisClientLike;
  readonly #timeoutMs: number;
  #everReady = false;
  // Deadlines without a per-call timer, clock read or map: calls started since the last
  // tick go to `#young` (a plain array, dropped every tick, so it stays garbage the
  // young-generation GC collects for free); the few still unanswered at a tick move to
  // `#old` with a deadline of that tick + timeoutMs (late by at most one tick, never early).
  #young: Pending[] = [];
  #old: Pending[] = [];
  readonly #tickMs: number;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(client: RedisClientLike, prefix: string, timeoutMs: number) {
    this.#client = client;
    this.prefix = prefix;
    this.#timeoutMs = timeoutMs;
    this.#tickMs = Math.max(1, Math.min(50, Math.floor(timeoutMs / 2)));
  }

  #statusError(): Error | undefined {
    const status = this.#client.status;
    if (status === 'ready') {
      this.#everReady = true;
      return undefined;
    }
    if (status === 'end') {
      return new StoreClosedError(
        'the ioredis client of this redisStore has ended (quit/disconnect was called); ' +
          'create the limiter with a connected client',
      );
    }
    // Before the first connection commands may queue; after it, a client that is not
    // ready is in an outage: fail fast instead of piling up behind the offline queue.
    if (this.#everReady || status === 'reconnecting' || status === 'close') {
      return new StoreUnavailableError(`redis client is not ready (status "${status}")`);
    }
    return undefined;
  }

  run(script: LuaScript, key: string, cost: string, extra?: string): Promise<unknown> {
    if (this.#client.status !== 'ready') {
      const error = this.#statusError();
      if (error !== undefined) return Promise.reject(error);
    }
    const call =
      extra === undefined
        ? this.#client.evalsha(script.sha, 1, key, cost)
        : this.#client.evalsha(script.sha, 1, key, cost, extra);
    return this.#timeoutMs === 0 ? call : this.#timed(call);
  }

  decide<R>(
    script: LuaScript,
    key: string,
    cost: string,
    onReply: (reply: unknown) => R,
    onError: (error: unknown) => R | Promise<R>,
  ): Promise<R> {
    if (this.#client.status !== 'ready') {
      const error = this.#statusError();
      if (error !== undefined) return Promise.reject(error).then(onReply, onError);
    }
    const call = this.#client.evalsha(script.sha, 1, key, cost);
    if (this.#timeoutMs === 0) return call.then(onReply, onError);
    const entry = this.#track();
    return new Promise<R>((resolve) => {
      entry.reject = (error) => resolve(onError(error));
      call.then(
        (reply) => {
          if (entry.settled) return;
          entry.settled = true;
          entry.reject = noop; // retain nothing once answered
          try {
            resolve(onReply(reply));
          } catch (error) {
            resolve(onError(error));
          }
        },
        (error) => {
          if (entry.settled) return;
          entry.settled = true;
          entry.reject = noop;
          resolve(onError(error));
        },
      );
    });
  }

  retry(
    error: unknown,
    script: LuaScript,
    key: string,
    cost: string,
    extra?: string,
  ): Promise<unknown> {
    if (!isNoScript(error)) return Promise.reject(this.#wrap(error));
    // The server lost its script cache (restart, SCRIPT FLUSH, failover): EVAL loads it.
    const call =
      extra === undefined
        ? this.#client.eval(script.source, 1, key, cost)
        : this.#client.eval(script.source, 1, key, cost, extra);
    return (this.#timeoutMs === 0 ? call : this.#timed(call)).catch((e: unknown) => {
      throw this.#wrap(e);
    });
  }

  async call(script: LuaScript, key: string, cost: string, extra?: string): Promise<unknown> {
    try {
      return await this.run(script, key, cost, extra);
    } catch (error) {
      return await this.retry(error, script, key, cost, extra);
    }
  }

  async del(key: string): Promise<void> {
    const error = this.#statusError();
    if (error !== undefined) throw error;
    try {
      await this.#timed(this.#client.del(key));
    } catch (e) {
      throw this.#wrap(e);
    }
  }

  #wrap(error: unknown): unknown {
    if (error instanceof StoreUnavailableError || error instanceof StoreClosedError) return error;
    const detail = error instanceof Error ? error.message : String(error);
    return new StoreUnavailableError(`redis store call failed: ${detail}`, { cause: error });
  }

  #timed<T>(call: Promise<T>): Promise<T> {
    if (this.#timeoutMs === 0) return call;
    const entry = this.#track();
    return new Promise<T>((resolve, reject) => {
      entry.reject = reject;
      call.then(
        (value) => {
          entry.settled = true;
          entry.reject = noop;
          resolve(value);
        },
        (error) => {
          entry.settled = true;
          entry.reject = noop;
          reject(error);
        },
      );
    });
  }

  #track(): Pending {
    const entry = new Pending();
    const young = this.#young;
    young.push(entry);
    if (this.#timer === undefined) this.#schedule();
    else if (young.length >= 4096) this.#young = young.filter((e) => !e.settled);
    return entry;
  }

  #schedule(): void {
    this.#timer = setTimeout(() => this.#tick(), this.#tickMs);
    this.#timer.unref?.();
  }

  #tick(): void {
    this.#timer = undefined;
    const now = performance.now();
    const old: Pending[] = [];
    for (const entry of this.#old) {
      if (entry.settled) continue;
      if (entry.deadline <= now) {
        entry.settled = true;
        entry.reject(
          new StoreUnavailableError(`redis did not answer within ${this.#timeoutMs} ms`),
        );
      } else {
        old.push(entry);
      }
    }
    const deadline = now + this.#timeoutMs;
    for (const entry of this.#young) {
      if (!entry.settled) {
        entry.deadline = deadline;
        old.push(entry);
      }
    }
    this.#young = [];
    this.#old = old;
    if (old.length > 0) this.#schedule();
  }
}

/**
 * Create a Redis store over your ioredis client (`Redis` or `Cluster`). Enable
 * `enableAutoPipelining` on the client: concurrent decisions then share round trips.
 *
 * @throws StoreClosedError when the client has already ended (`status === 'end'`).
 * @throws InvalidArgumentError when `client` is not an ioredis client.
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
  if (
    client === null ||
    typeof client !== 'object' ||
    typeof client.evalsha !== 'function' ||
    typeof client.eval !== 'function' ||
    typeof client.del !== 'function' ||
    typeof client.status !== 'string'
  ) {
    throw new InvalidArgumentError('client', 'must be an ioredis client (Redis or Cluster)');
  }
  if (client.status === 'end') {
    throw new StoreClosedError(
      'the ioredis client passed to redisStore has ended (status "end"); pass a connected client',
    );
  }
  const { prefix, timeoutMs } = parseOptions('redisStore', schema, options);
  return new RedisStoreImpl(client, prefix, timeoutMs);
}
