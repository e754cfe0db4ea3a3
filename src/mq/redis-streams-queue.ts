// redisStreamsQueue: one stream per topic (`{prefix:topic}`, its own hash tag, so each
// topic lives in one Cluster slot), one Redis consumer group per girder group.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { z } from 'zod';
import {
  type Clock,
  checkRedisClient,
  clockSchema,
  InvalidArgumentError,
  parseOptions,
  type RedisClient,
  type RedisRunner,
  redisKey,
  redisPrefixSchema,
  redisRunner,
  systemClock,
} from '../core/index.js';
import { BaseQueue, type StoredMessage } from './base-queue.js';
import type { ParsedConsumeOptions } from './consume-options.js';
import type { ConsumerSource } from './consumer-loop.js';
import { APPEND, encodeEntry } from './streams-codec.js';
import { type DuplicableClient, ensureGroup, StreamsSource } from './streams-source.js';
import type { GroupLag, Queue } from './types.js';

/**
 * Options of {@link redisStreamsQueue}.
 *
 * @example
 * ```ts
 * const options: RedisStreamsQueueOptions = { maxLen: 1_000_000, claimIdleMs: 60_000 };
 * ```
 */
export interface RedisStreamsQueueOptions {
  /** Name for metrics and errors. Default `redis-streams`. */
  name?: string;
  /** Key prefix; a topic's stream is `{prefix:topic}`. Default `girder:mq`. */
  prefix?: string;
  /**
   * Approximate cap on entries per stream (`XADD MAXLEN ~`): older entries are trimmed,
   * read or not. 0 keeps everything. Default 1 000 000.
   */
  maxLen?: number;
  /**
   * A message pending (delivered, not acknowledged) and untouched this long is taken over
   * by the next member that claims (XAUTOCLAIM): the way a dead consumer's messages are
   * redelivered. Live members touch what they hold every `claimIdleMs / 3` (XCLAIM
   * JUSTID), so slow batches are not taken over. Default 30 000.
   */
  claimIdleMs?: number;
  /** How often a member looks for claimable messages, ms. Default 1 000. */
  claimIntervalMs?: number;
  /** How long one XREADGROUP blocks waiting for new messages, ms. Default 1 000. */
  blockMs?: number;
  /**
   * Consumer name prefix within Redis groups; each subscription appends `:<n>`.
   * Default `<hostname>:<pid>:<random>`, so restarts never reuse a name.
   */
  consumerName?: string;
  /** Deadline of every non-blocking command, ms. Default 1 000. */
  commandTimeoutMs?: number;
  /** Pause after a failed fetch before trying again, ms. Default 1 000. */
  fetchErrorDelayMs?: number;
  /** Time source. Default `systemClock`. */
  clock?: Clock;
}

const schema = z.strictObject({
  name: z.string().min(1).default('redis-streams'),
  prefix: redisPrefixSchema('girder:mq'),
  maxLen: z
    .number()
    .int()
    .min(0)
    .max(2 ** 40)
    .default(1_000_000),
  claimIdleMs: z.number().int().min(1).max(86_400_000).default(30_000),
  claimIntervalMs: z.number().int().min(1).max(86_400_000).default(1_000),
  blockMs: z.number().int().min(1).max(3_600_000).default(1_000),
  consumerName: z.string().min(1).regex(/^\S+$/, 'must not contain whitespace').optional(),
  commandTimeoutMs: z.number().int().min(0).max(86_400_000).default(1_000),
  fetchErrorDelayMs: z.number().int().min(0).max(3_600_000).default(1_000),
  clock: clockSchema.default(systemClock),
});

type Options = z.output<typeof schema>;

const nothing = (): void => {};
const rethrow = (error: unknown): never => {
  throw error;
};

class RedisStreamsQueue extends BaseQueue {
  readonly #client: DuplicableClient;
  readonly #runner: RedisRunner;
  readonly #o: Options;
  readonly #consumerBase: string;
  #members = 0;

  constructor(client: DuplicableClient, o: Options) {
    super(o.name, 'redis-streams', o.clock, o.fetchErrorDelayMs);
    this.#client = client;
    this.#o = o;
    this.#runner = redisRunner(client, { name: o.name, commandTimeoutMs: o.commandTimeoutMs });
    this.#consumerBase =
      o.consumerName ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  }

  #stream(topic: string): string {
    return redisKey(this.#o.prefix, topic);
  }

  protected publish(topic: string, messages: readonly StoredMessage[]): Promise<void> {
    const args: (string | number)[] = [this.#o.maxLen];
    for (const m of messages) encodeEntry(m, args);
    return this.#runner.evalKeys(APPEND, [this.#stream(topic)], args, nothing, rethrow);
  }

  protected async openSource(
    topic: string,
    options: ParsedConsumeOptions,
  ): Promise<ConsumerSource> {
    const stream = this.#stream(topic);
    await ensureGroup(this.#runner, stream, options.group);
    const o = this.#o;
    // XREADGROUP BLOCK holds its connection for up to blockMs: it gets its own, so the
    // caller's client keeps serving producers and acks meanwhile.
    const blocking = this.#client.duplicate();
    // Connection errors of this connection surface as failed reads (`error` events);
    // without a listener ioredis would also print each one as unhandled.
    blocking.on?.('error', () => {});
    return new StreamsSource(this.#runner, blocking, {
      topic,
      stream,
      group: options.group,
      consumer: `${this.#consumerBase}:${++this.#members}`,
      claimIdleMs: o.claimIdleMs,
      claimIntervalMs: o.claimIntervalMs,
      blockMs: o.blockMs,
      clock: this.clock,
    });
  }

  protected async readLag(topic: string, group: string): Promise<GroupLag> {
    const stream = this.#stream(topic);
    let groups: unknown[][];
    try {
      groups = (await this.#runner.command('XINFO', 'GROUPS', stream)) as unknown[][];
    } catch (error) {
      if (/no such key/i.test(String((error as { cause?: unknown }).cause ?? error))) {
        return { topic, group, pending: 0, lag: 0 };
      }
      throw error;
    }
    for (const fields of groups) {
      const info = new Map<string, unknown>();
      for (let i = 0; i + 1 < fields.length; i += 2) info.set(String(fields[i]), fields[i + 1]);
      if (info.get('name') !== group) continue;
      const lag = info.get('lag');
      return {
        topic,
        group,
        pending: Number(info.get('pending') ?? 0),
        // Redis reports no lag when it cannot tell (entries deleted in the middle).
        lag: lag === null || lag === undefined ? 0 : Number(lag),
      };
    }
    // No such group yet: it would read the stream from the start.
    const length = Number(await this.#runner.command('XLEN', stream));
    return { topic, group, pending: 0, lag: length };
  }

  protected async closeBackend(): Promise<void> {
    this.#runner.close();
  }
}

/**
 * A queue on Redis Streams (Redis 6.2+; lag needs 7.0): XADD (MAXLEN ~) to send,
 * XREADGROUP to consume in groups, XACK after the handler succeeds, and XAUTOCLAIM so a
 * member takes over what a dead member left pending for `claimIdleMs`. Works on ioredis
 * `Redis` and `Cluster`: each topic's stream is hash-tagged into one slot.
 *
 * Each subscription opens one extra connection with `client.duplicate()` for its
 * blocking XREADGROUP, and closes it on stop. `close()` does not close your client.
 *
 * Per-key order holds within a subscription (its lanes); across several members of one
 * group it does not (Redis hands entries to members in any split): see the guide.
 *
 * @throws InvalidArgumentError when `client` is not an ioredis client with `duplicate()`.
 * @throws InvalidOptionsError for unknown or out-of-range options.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import { redisStreamsQueue } from 'girder/mq';
 *
 * const queue = redisStreamsQueue(new Redis({ enableAutoPipelining: true }), {
 *   maxLen: 1_000_000,
 *   claimIdleMs: 60_000,
 * });
 * await queue.producer.send('orders', [{ key: 'order-42', value: '{"paid":true}' }]);
 * ```
 */
export function redisStreamsQueue(
  client: RedisClient,
  options: RedisStreamsQueueOptions = {},
): Queue {
  checkRedisClient(client);
  const dup = client as Partial<DuplicableClient>;
  if (typeof dup.duplicate !== 'function' || typeof dup.disconnect !== 'function') {
    throw new InvalidArgumentError(
      'client',
      'must be an ioredis Redis or Cluster (duplicate() and disconnect() are needed for blocking reads)',
    );
  }
  return new RedisStreamsQueue(
    client as DuplicableClient,
    parseOptions('redisStreamsQueue', schema, options),
  );
}
