// Redis pub/sub as the invalidation bus. Publishing goes through core's runner on the
// caller's client; subscribing needs a connection of its own (a subscribed connection
// serves nothing else), duplicated from the client unless one is given. ioredis
// resubscribes by itself after a reconnect; every `ready` after the first tells the
// caches messages may have been lost meanwhile, and they flush their L1.
import { z } from 'zod';
import {
  checkRedisClient,
  InvalidArgumentError,
  parseOptions,
  type RedisClient,
  redisRunner,
} from '../core/index.js';
import type { BusHandlers, BusMessage, CacheBus } from './types.js';

/**
 * The part of an ioredis connection the bus subscribes with (ioredis 5/6 `Redis` or
 * `Cluster`).
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import type { RedisSubscriber } from 'girder/cache';
 *
 * const subscriber: RedisSubscriber = new Redis(process.env.REDIS_URL!);
 * ```
 */
export interface RedisSubscriber {
  /** Connection status (`ready` when subscribed and serving). */
  readonly status: string;
  /** Subscribe to channels. */
  subscribe(...channels: string[]): Promise<unknown>;
  /** Listen to `message`, `ready`, `error`. */
  on(event: string, listener: (...args: never[]) => void): unknown;
  /** Remove a listener. */
  off(event: string, listener: (...args: never[]) => void): unknown;
  /** Close the connection. */
  disconnect(): void;
}

/**
 * Options of {@link redisBus}.
 *
 * @example
 * ```ts
 * import { redisBus } from 'girder/cache';
 *
 * const bus = redisBus(redis, { channel: 'shop:cache:bus' });
 * ```
 */
export interface RedisBusOptions {
  /** The pub/sub channel. Default `girder:cache:bus`. */
  channel?: string;
  /**
   * A connection to subscribe on; the bus then does not close it. Default: `client.duplicate()`,
   * closed by `close()`.
   */
  subscriber?: RedisSubscriber;
  /** A publish not answered within this many ms fails (`busError`). Default 1 000. */
  commandTimeoutMs?: number;
}

const subscriberSchema = z.custom<RedisSubscriber>(
  (v) =>
    typeof v === 'object' &&
    v !== null &&
    typeof (v as RedisSubscriber).subscribe === 'function' &&
    typeof (v as RedisSubscriber).on === 'function',
  { message: 'must be an ioredis connection (subscribe() and on())' },
);

const schema = z.strictObject({
  channel: z.string().min(1).default('girder:cache:bus'),
  subscriber: subscriberSchema.optional(),
  commandTimeoutMs: z.number().int().min(0).max(86_400_000).default(1_000),
});

/**
 * A bus over Redis pub/sub. Messages published while a subscriber is disconnected are
 * lost (pub/sub keeps nothing); the caches notice through sequence gaps or the reconnect
 * and flush their L1.
 *
 * @throws InvalidArgumentError when `client` is not a Redis client, or has no `duplicate()`
 * and no `subscriber` is given.
 * @throws InvalidOptionsError for unknown or out-of-range options.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import { cache, redisBus, redisCacheStore } from 'girder/cache';
 *
 * const redis = new Redis({ enableAutoPipelining: true });
 * const products = cache({
 *   l2: redisCacheStore(redis),
 *   bus: redisBus(redis, { channel: 'shop:products' }),
 * });
 * ```
 */
export function redisBus(client: RedisClient, options: RedisBusOptions = {}): CacheBus {
  checkRedisClient(client);
  const opts = parseOptions('redisBus', schema, options);
  const duplicate = (client as { duplicate?: () => RedisSubscriber }).duplicate;
  if (opts.subscriber === undefined && typeof duplicate !== 'function') {
    throw new InvalidArgumentError('client', 'has no duplicate(); pass a `subscriber` connection');
  }
  const runner = redisRunner(client, {
    name: 'cache-bus',
    commandTimeoutMs: opts.commandTimeoutMs,
  });
  const handlers = new Set<BusHandlers>();
  let subscriber: RedisSubscriber | undefined;
  let readies = 0;
  let closed = false;
  let subscribed: Promise<void> | undefined;

  const onMessage = (channel: string, text: string) => {
    if (channel !== opts.channel) return;
    let message: BusMessage;
    try {
      message = JSON.parse(text) as BusMessage;
    } catch (error) {
      for (const h of handlers) h.error?.(error);
      return;
    }
    for (const h of handlers) h.message(message);
  };
  const onReady = () => {
    readies++;
    // ioredis subscribes again on its own after a reconnect: anything sent meanwhile is lost.
    if (readies > 1) for (const h of handlers) h.reconnected();
  };
  const onError = (error: unknown) => {
    for (const h of handlers) h.error?.(error);
  };

  const start = () => {
    const sub = opts.subscriber ?? (duplicate as () => RedisSubscriber).call(client);
    subscriber = sub;
    if (sub.status === 'ready') readies = 1;
    sub.on('message', onMessage as (...args: never[]) => void);
    sub.on('ready', onReady as (...args: never[]) => void);
    sub.on('error', onError as (...args: never[]) => void);
    subscribed = sub.subscribe(opts.channel).then(() => {}, onError);
  };

  return {
    kind: 'redis',
    publish: async (message) => {
      await runner.command('PUBLISH', opts.channel, JSON.stringify(message));
    },
    subscribe: (h) => {
      if (closed) return () => {};
      handlers.add(h);
      if (subscriber === undefined) start();
      return () => handlers.delete(h);
    },
    ready: async () => {
      await subscribed;
    },
    close: async () => {
      if (closed) return;
      closed = true;
      handlers.clear();
      runner.close();
      const sub = subscriber;
      if (sub === undefined) return;
      sub.off('message', onMessage as (...args: never[]) => void);
      sub.off('ready', onReady as (...args: never[]) => void);
      sub.off('error', onError as (...args: never[]) => void);
      if (opts.subscriber === undefined) sub.disconnect();
    },
  };
}
