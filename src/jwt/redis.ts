import {
  type RedisScript as CoreScript,
  isRedisClient,
  isRedisPrefix,
  type RedisClient,
  type RedisRunner,
  redisRunner,
  redisScript,
} from '../core/index.js';

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

/** The script deadline when the caller gives none: `redisSessionStore`'s default `timeoutMs`. */
const DEFAULT_TIMEOUT_MS = 1_000;

// One core runner per (client, timeout): it keeps that client's server-clock offset and
// its "ever connected" state. A client without `status` (a plain `call` wrapper) is
// treated as always connected.
const runners = new WeakMap<RedisCommandClient, Map<number, RedisRunner>>();

function runnerOf(client: RedisCommandClient, timeoutMs: number): RedisRunner {
  let byTimeout = runners.get(client);
  if (byTimeout === undefined) {
    byTimeout = new Map();
    runners.set(client, byTimeout);
  }
  let runner = byTimeout.get(timeoutMs);
  if (runner === undefined) {
    const shaped: RedisClient = isRedisClient(client)
      ? client
      : { status: 'ready', call: (command, ...args) => client.call(command, ...args) };
    runner = redisRunner(shaped, { name: 'jwt redis', commandTimeoutMs: timeoutMs });
    byTimeout.set(timeoutMs, runner);
  }
  return runner;
}

/**
 * A Lua script of core's registry, run by core's runner: EVALSHA falling back to EVAL
 * when the server (the key's node on Cluster) does not know it yet, under a deadline the
 * script itself enforces on the server clock. A script that reaches Redis after the
 * caller gave up (a stall, SIGSTOP) changes nothing, so a refresh or logout reported as
 * failed never happens later.
 *
 * @internal
 */
export class RedisScript {
  readonly #script: CoreScript;

  constructor(source: string) {
    this.#script = redisScript(source);
  }

  /** The registered script (source with the deadline prologue, and its SHA). */
  get script(): CoreScript {
    return this.#script;
  }

  /**
   * Run with `KEYS = keys`, `ARGV = args`. `timeoutMs` (default 1 000, the session
   * store's default) is both the client-side deadline and the script's server-side one:
   * pass the store's own timeout so the two agree.
   */
  run(
    client: RedisCommandClient,
    keys: readonly string[],
    args: readonly (string | number)[],
    options: { timeoutMs?: number } = {},
  ): Promise<unknown> {
    return runnerOf(client, options.timeoutMs ?? DEFAULT_TIMEOUT_MS).eval(this.#script, keys, args);
  }
}

/**
 * A Redis key prefix girder may put a `{hash tag}` after: it must not contain braces
 * itself, or the tag would not be the first one (core's rule; empty is allowed here).
 *
 * @internal
 */
export function checkPrefix(prefix: string): boolean {
  return prefix === '' || isRedisPrefix(prefix);
}
