// Counters as Redis hashes, one hash per logical key under one hash tag, so each call is
// a single-slot command and works unchanged on ioredis Cluster.
import { z } from 'zod';
import {
  checkRedisClient,
  parseOptions,
  type RedisClient,
  type RedisRunner,
  redisKey,
  redisPrefixSchema,
  redisRunner,
  redisScript,
  TypedEmitter,
} from '../core/index.js';
import {
  type CounterEvents,
  type CounterInitOptions,
  type Counters,
  CountersClosedError,
  checkCounterKey,
  checkGetArgs,
  checkGetManyArgs,
  checkIncrArgs,
  checkInitArgs,
  countersFields,
} from './counters.js';

/**
 * Options of {@link redisCounters}.
 *
 * @example
 * ```ts
 * import { type RedisCountersOptions, redisCounters } from 'girder/cache';
 *
 * const options: RedisCountersOptions = { prefix: 'shop:views', ttlMs: 600_000, timeoutMs: 250 };
 * const counters = redisCounters(redis, options);
 * ```
 */
export interface RedisCountersOptions {
  /** Name carried by events and errors. Default `counters`. */
  name?: string;
  /**
   * Prefix of every key (no braces). The hash of logical key `k` is `{prefix:k}`: a
   * Redis Cluster hash tag, so each call touches one slot. Default `girder:counters`.
   */
  prefix?: string;
  /** Default lifetime of a hash loaded by `init`, ms (1 to 30 days). Default 600 000 (10 min). */
  ttlMs?: number;
  /**
   * A call not answered within this many ms rejects with `REDIS_UNAVAILABLE`, and an
   * `incr`/`init` reaching Redis later than that (server clock) changes nothing, so a
   * call reported failed never counts afterwards. 0 disables both. Default 1 000.
   */
  timeoutMs?: number;
}

const schema = z.strictObject({
  ...countersFields,
  prefix: redisPrefixSchema('girder:counters'),
  timeoutMs: z.number().int().min(0).max(86_400_000).default(1_000),
});

// KEYS[1] the hash; ARGV field, by. EXISTS first: a hash that is not loaded must stay
// absent (HINCRBY alone would create it holding just `by`, a wrong total). Replies the
// new value, or nil (false) when the hash does not exist.
const INCR = redisScript(`if redis.call('EXISTS', KEYS[1]) == 0 then return false end
return redis.call('HINCRBY', KEYS[1], ARGV[1], ARGV[2])`);

// KEYS[1] the hash; ARGV ttlMs, replace ('1'/'0'), then field, value pairs. Replies 1
// when written, 0 when the hash existed and was kept.
const INIT = redisScript(`local exists = redis.call('EXISTS', KEYS[1]) == 1
if exists and ARGV[2] ~= '1' then return 0 end
if exists then redis.call('DEL', KEYS[1]) end
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1`);

const toNumber = (reply: unknown): number | undefined =>
  reply === null || reply === undefined ? undefined : Number(reply);

class RedisCounters implements Counters {
  readonly kind = 'redis' as const;
  readonly name: string;
  readonly events = new TypedEmitter<CounterEvents>();
  readonly #prefix: string;
  readonly #ttlMs: number;
  readonly #runner: RedisRunner;
  #closed = false;

  constructor(client: RedisClient, options: z.output<typeof schema>) {
    this.name = options.name;
    this.#prefix = options.prefix;
    this.#ttlMs = options.ttlMs;
    this.#runner = redisRunner(client, { name: options.name, commandTimeoutMs: options.timeoutMs });
  }

  /** Run `call`, turning a failure into an `error` event plus the same rejection. */
  async #run<T>(op: CounterEvents['error']['op'], key: string, call: () => Promise<T>): Promise<T> {
    if (this.#closed) throw new CountersClosedError(this.name);
    try {
      return await call();
    } catch (error) {
      this.events.emit('error', { name: this.name, op, key, error });
      throw error;
    }
  }

  async incr(key: string, field: string, by = 1): Promise<number | undefined> {
    checkIncrArgs(key, field, by);
    const reply = await this.#run('incr', key, () =>
      this.#runner.eval(INCR, [redisKey(this.#prefix, key)], [field, by]),
    );
    if (reply === null) this.events.emit('miss', { name: this.name, key });
    return toNumber(reply);
  }

  async init(
    key: string,
    fields: Readonly<Record<string, number>>,
    options?: CounterInitOptions,
  ): Promise<boolean> {
    const { pairs, ttlMs, replace } = checkInitArgs(key, fields, options, this.#ttlMs);
    const args: (string | number)[] = [ttlMs, replace ? '1' : '0'];
    for (const [field, value] of pairs) args.push(field, value);
    const reply = await this.#run('init', key, () =>
      this.#runner.eval(INIT, [redisKey(this.#prefix, key)], args),
    );
    return reply === 1;
  }

  async get(key: string, field: string): Promise<number | undefined> {
    checkGetArgs(key, field);
    const reply = await this.#run('get', key, () =>
      this.#runner.command('HGET', redisKey(this.#prefix, key), field),
    );
    return toNumber(reply);
  }

  async getMany(key: string, fields: readonly string[]): Promise<(number | undefined)[]> {
    checkGetManyArgs(key, fields);
    const reply = await this.#run('getMany', key, () =>
      this.#runner.command('HMGET', redisKey(this.#prefix, key), ...fields),
    );
    return (reply as unknown[]).map(toNumber);
  }

  async getAll(key: string): Promise<Record<string, number> | undefined> {
    checkCounterKey(key);
    const reply = await this.#run('getAll', key, () =>
      this.#runner.command('HGETALL', redisKey(this.#prefix, key)),
    );
    // ioredis answers HGETALL through `call` as a flat [field, value, ...] array (older
    // versions may hand an object): accept both.
    const result: Record<string, number> = {};
    if (Array.isArray(reply)) {
      for (let i = 0; i + 1 < reply.length; i += 2) result[String(reply[i])] = Number(reply[i + 1]);
    } else if (reply !== null && typeof reply === 'object') {
      for (const [field, value] of Object.entries(reply)) result[field] = Number(value);
    }
    return Object.keys(result).length === 0 ? undefined : result;
  }

  async delete(key: string): Promise<boolean> {
    checkCounterKey(key);
    const reply = await this.#run('delete', key, () =>
      this.#runner.command('DEL', redisKey(this.#prefix, key)),
    );
    return reply === 1;
  }

  close(): void {
    this.#closed = true;
    this.#runner.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }
}

/**
 * {@link Counters} shared by every instance, as Redis hashes: `incr` is one Lua script
 * that increments only an existing hash (EVALSHA, reloaded after `NOSCRIPT`), `init`
 * writes the fields and the TTL atomically, reads are single commands. Works with
 * ioredis `Redis` and `Cluster` (5 or 6); the client stays yours to close.
 *
 * @throws InvalidArgumentError when `client` is not a Redis client.
 * @throws InvalidOptionsError for unknown or out-of-range options.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import { redisCounters } from 'girder/cache';
 *
 * const counters = redisCounters(new Redis(process.env.REDIS_URL!), { prefix: 'shop:views' });
 * const views = await counters.incr(`product:${id}`, 'views');
 * // not loaded: the database (already written) holds the true figure
if (views === undefined) await counters.init(`product:${id}`, { views: await db.views(id) });
 * ```
 */
export function redisCounters(client: RedisClient, options: RedisCountersOptions = {}): Counters {
  checkRedisClient(client);
  return new RedisCounters(client, parseOptions('redisCounters', schema, options));
}
