// The queue contract every backend (memory, Redis Streams, Kafka) implements. Backends
// differ in how they store and hand out messages; producers and handlers see only these.
import type { Backoff, EventSource } from '../core/index.js';

/**
 * A message to publish. `key` keeps order: messages with one key are handled in the
 * order they were sent (per partition on Kafka, per stream on Redis).
 *
 * @example
 * ```ts
 * const msg: OutgoingMessage = { key: 'order-42', value: JSON.stringify({ paid: true }) };
 * ```
 */
export interface OutgoingMessage {
  /** Ordering and partitioning key. Messages without one may be handled in any order. */
  key?: string;
  /** The payload. Strings are stored as UTF-8. */
  value: string | Uint8Array;
  /** String headers, carried to the consumer unchanged. */
  headers?: Record<string, string>;
}

/**
 * A message as a handler receives it.
 *
 * @example
 * ```ts
 * await consumer.consume('orders', async (batch) => {
 *   for (const m of batch) console.log(m.id, m.key, m.text(), m.attempt);
 * }, { group: 'mailer' });
 * ```
 */
export interface ReceivedMessage {
  /** The topic it was read from. */
  readonly topic: string;
  /** Backend id: the stream entry id on Redis, `partition:offset` on Kafka, a sequence in memory. */
  readonly id: string;
  /** Ordering key, when sent with one. */
  readonly key: string | undefined;
  /** The raw payload. */
  readonly value: Uint8Array;
  /** The payload decoded as UTF-8. */
  text(): string;
  /** Headers as sent (plus `x-girder-*` ones the queue adds on retry and dead-letter). */
  readonly headers: Readonly<Record<string, string>>;
  /** 1 on first delivery to the handler, counting redeliveries and retries. */
  readonly attempt: number;
}

/**
 * Publishes messages.
 *
 * @example
 * ```ts
 * await queue.producer.send('orders', [{ key: 'order-42', value: '{"paid":true}' }]);
 * ```
 */
export interface Producer {
  /** Resolves when the backend has accepted every message (durably, where it can). */
  send(topic: string, messages: readonly OutgoingMessage[]): Promise<void>;
}

/**
 * Retry of a failed handler before the message goes to the dead-letter topic.
 *
 * @example
 * ```ts
 * const retry: RetryPolicy = { maxAttempts: 5, backoff: exponential({ initialMs: 100 }) };
 * ```
 */
export interface RetryPolicy {
  /** Attempts in all, the first included. Default 3. */
  maxAttempts?: number;
  /** Delay before each retry. Default: exponential from 100 ms. */
  backoff?: Backoff;
}

/**
 * How a consumer group reads a topic.
 *
 * @example
 * ```ts
 * const opts: ConsumeOptions = { group: 'mailer', batch: { size: 50, waitMs: 20 }, concurrency: 4 };
 * ```
 */
export interface ConsumeOptions {
  /** Consumer group: each message goes to one member of the group. */
  group: string;
  /** Hand the handler up to `size` messages, waiting up to `waitMs` to fill a batch. Default `{ size: 1, waitMs: 0 }`. */
  batch?: { size?: number; waitMs?: number };
  /** Batches handled at once. Messages with one key never run concurrently or out of order. Default 1. */
  concurrency?: number;
  /** Retries before dead-lettering. */
  retry?: RetryPolicy;
  /** Where a message goes after its attempts are spent, with the error in its headers. Default: none (it stays pending and is logged). */
  deadLetter?: string;
  /**
   * How long `stop()` lets in-flight batches run before aborting their handler signal;
   * batches still unfinished then are left unacknowledged (redelivered later). Default 30 000.
   */
  drainTimeoutMs?: number;
  /** Aborting stops the subscription gracefully, as `Subscription.stop()`. */
  signal?: AbortSignal;
}

/**
 * A batch handler. Resolving acknowledges every message in the batch; throwing retries
 * the whole batch (or dead-letters it once the attempts are spent).
 *
 * @example
 * ```ts
 * const handler: BatchHandler = async (batch, signal) => { await save(batch, signal); };
 * ```
 */
export type BatchHandler = (
  batch: readonly ReceivedMessage[],
  signal: AbortSignal,
) => Promise<void>;

/**
 * A running consumer. `stop()` is graceful: it stops fetching, lets in-flight batches
 * finish (their signal aborts after the drain timeout), acknowledges, then resolves.
 *
 * @example
 * ```ts
 * const sub = await consumer.consume('orders', handler, { group: 'mailer' });
 * await sub.stop();
 * ```
 */
export interface Subscription extends AsyncDisposable {
  /** The topic. */
  readonly topic: string;
  /** The consumer group. */
  readonly group: string;
  /** Stops gracefully; resolves when in-flight work is done and acknowledged. */
  stop(): Promise<void>;
}

/**
 * Reads topics in consumer groups.
 *
 * @example
 * ```ts
 * const sub = await queue.consumer.consume('orders', async (batch) => {}, { group: 'mailer' });
 * ```
 */
export interface Consumer {
  /** Starts handling `topic` in `opts.group`; resolves once the subscription is live. */
  consume(topic: string, handler: BatchHandler, opts: ConsumeOptions): Promise<Subscription>;
}

/**
 * Consumer-group lag, as far as the backend can tell.
 *
 * @example
 * ```ts
 * const { pending, lag } = await queue.lag('orders', 'mailer');
 * ```
 */
export interface GroupLag {
  /** The topic. */
  readonly topic: string;
  /** The group. */
  readonly group: string;
  /** Delivered but not yet acknowledged (Redis: PEL size; Kafka: unknown, 0). */
  readonly pending: number;
  /** Not yet delivered to the group (Redis: the group's `lag`; Kafka: high watermark − committed, summed). */
  readonly lag: number;
}

/**
 * Events of a queue, for girder/observability (OTel messaging names).
 *
 * @example
 * ```ts
 * queue.events.on('processed', (e) => console.log(e.topic, e.group, e.count, e.durationMs));
 * ```
 */
export type QueueEvents = {
  /** Messages were published. */
  sent: { topic: string; count: number; durationMs: number };
  /** A batch was handed to a handler. */
  consumed: { topic: string; group: string; count: number };
  /** A batch's handler succeeded and the batch was acknowledged. */
  processed: { topic: string; group: string; count: number; durationMs: number };
  /** A batch's handler failed. */
  failed: { topic: string; group: string; count: number; durationMs: number; error: unknown };
  /** A failed batch will be tried again after `delayMs`. */
  retried: { topic: string; group: string; count: number; attempt: number; delayMs: number };
  /** Messages went to the dead-letter topic. */
  deadLettered: { topic: string; group: string; count: number; deadLetter: string; error: unknown };
  /** A subscription started (girder/observability reads lag for every pair it saw). */
  subscribed: { topic: string; group: string };
  /** A subscription stopped. */
  unsubscribed: { topic: string; group: string };
  /** A backend error outside a handler (fetch, ack, claim). */
  error: { topic: string; group: string; error: unknown };
};

/**
 * A message queue: a producer, a consumer, lag and events. Backends: `memoryQueue`,
 * `redisStreamsQueue`, `kafkaQueue`.
 *
 * @example
 * ```ts
 * const queue = memoryQueue();
 * await queue.producer.send('orders', [{ value: 'hi' }]);
 * ```
 */
export interface Queue extends AsyncDisposable {
  /** The name given at construction, for metrics. */
  readonly name: string;
  /** The backend. */
  readonly kind: 'memory' | 'redis-streams' | 'kafka';
  /** Publishes. */
  readonly producer: Producer;
  /** Consumes. */
  readonly consumer: Consumer;
  /** Lag of one group on one topic. */
  lag(topic: string, group: string): Promise<GroupLag>;
  /** Typed events. */
  readonly events: EventSource<QueueEvents>;
  /** Stops every subscription gracefully, then releases the backend's resources it owns. */
  close(): Promise<void>;
}
