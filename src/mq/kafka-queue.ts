// kafkaQueue: the queue contract over any client with the kafkajs API. Girder's groups
// are Kafka consumer groups; order per key holds per partition (the producer's
// partitioner sends one key to one partition) and within a member's lanes.
import { z } from 'zod';
import {
  type Clock,
  clockSchema,
  InvalidArgumentError,
  parseOptions,
  systemClock,
} from '../core/index.js';
import { BaseQueue, type StoredMessage } from './base-queue.js';
import type { ParsedConsumeOptions } from './consume-options.js';
import type { ConsumerSource } from './consumer-loop.js';
import type { KafkaLike, KafkaLikeAdmin, KafkaLikeProducer } from './kafka-client.js';
import { KafkaSource } from './kafka-source.js';
import type { GroupLag, Queue } from './types.js';

/**
 * Options of {@link kafkaQueue}.
 *
 * @example
 * ```ts
 * const options: KafkaQueueOptions = { fromBeginning: false, acks: -1 };
 * ```
 */
export interface KafkaQueueOptions {
  /** Name for metrics. Default `kafka`. */
  name?: string;
  /** Where a new group starts reading: the earliest retained message (true) or new ones only. Default true. */
  fromBeginning?: boolean;
  /** Producer acknowledgements: -1 all in-sync replicas, 1 the leader, 0 none. Default -1. */
  acks?: -1 | 0 | 1;
  /** Partitions of one subscription handled at once (kafkajs `partitionsConsumedConcurrently`). Default 1. */
  partitionsConsumedConcurrently?: number;
  /** Heartbeat interval while a batch is being handled, ms. Default 3 000. */
  heartbeatMs?: number;
  /** Pause before re-reading a partition from a message given up on (no dead-letter topic), ms. Default 1 000. */
  redeliveryDelayMs?: number;
  /** How long an idle fetch of the consumer loop waits before checking again, ms. Default 1 000. */
  blockMs?: number;
  /** Time source. Default `systemClock`. */
  clock?: Clock;
}

const schema = z.strictObject({
  name: z.string().min(1).default('kafka'),
  fromBeginning: z.boolean().default(true),
  acks: z.union([z.literal(-1), z.literal(0), z.literal(1)]).default(-1),
  partitionsConsumedConcurrently: z.number().int().min(1).max(1_000).default(1),
  heartbeatMs: z.number().int().min(100).max(3_600_000).default(3_000),
  redeliveryDelayMs: z.number().int().min(0).max(3_600_000).default(1_000),
  blockMs: z.number().int().min(1).max(3_600_000).default(1_000),
  clock: clockSchema.default(systemClock),
});

type Options = z.output<typeof schema>;

class KafkaQueue extends BaseQueue {
  readonly #kafka: KafkaLike;
  readonly #o: Options;
  #producer: Promise<KafkaLikeProducer> | undefined;
  #admin: Promise<KafkaLikeAdmin> | undefined;

  constructor(kafka: KafkaLike, o: Options) {
    super(o.name, 'kafka', o.clock, o.blockMs);
    this.#kafka = kafka;
    this.#o = o;
  }

  #connected<T extends { connect(): Promise<void> }>(make: () => T): Promise<T> {
    const client = make();
    return client.connect().then(() => client);
  }

  protected async publish(topic: string, messages: readonly StoredMessage[]): Promise<void> {
    this.#producer ??= this.#connected(() => this.#kafka.producer());
    const producer = await this.#producer.catch((error: unknown) => {
      this.#producer = undefined; // try connecting again next time
      throw error;
    });
    await producer.send({
      topic,
      acks: this.#o.acks,
      messages: messages.map((m) => ({
        key: m.key ?? null,
        value: Buffer.from(m.value.buffer, m.value.byteOffset, m.value.byteLength),
        headers: m.headers,
      })),
    });
  }

  protected async openSource(
    topic: string,
    options: ParsedConsumeOptions,
  ): Promise<ConsumerSource> {
    const o = this.#o;
    const consumer = this.#kafka.consumer({ groupId: options.group });
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: o.fromBeginning });
    const source = new KafkaSource(consumer, {
      topic,
      heartbeatMs: o.heartbeatMs,
      redeliveryDelayMs: o.redeliveryDelayMs,
      blockMs: o.blockMs,
      clock: this.clock,
    });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: o.partitionsConsumedConcurrently,
      eachBatch: source.eachBatch,
    });
    return source;
  }

  protected async readLag(topic: string, group: string): Promise<GroupLag> {
    this.#admin ??= this.#connected(() => this.#kafka.admin());
    const admin = await this.#admin.catch((error: unknown) => {
      this.#admin = undefined;
      throw error;
    });
    const [marks, committed] = await Promise.all([
      admin.fetchTopicOffsets(topic),
      admin.fetchOffsets({ groupId: group, topics: [topic] }),
    ]);
    const byPartition = new Map<number, string>();
    for (const t of committed) {
      if (t.topic !== topic) continue;
      for (const p of t.partitions) byPartition.set(p.partition, p.offset);
    }
    let lag = 0;
    for (const { partition, high, low } of marks) {
      const offset = Number(byPartition.get(partition) ?? '-1');
      // No commit yet: the group would start from the low watermark.
      lag += Math.max(0, Number(high) - (offset < 0 ? Number(low) : offset));
    }
    // Kafka keeps no per-message pending list: handed-out but uncommitted messages count as lag.
    return { topic, group, pending: 0, lag };
  }

  protected async closeBackend(): Promise<void> {
    const producer = this.#producer;
    const admin = this.#admin;
    this.#producer = undefined;
    this.#admin = undefined;
    await Promise.allSettled([
      producer?.then((p) => p.disconnect()),
      admin?.then((a) => a.disconnect()),
    ]);
  }
}

/**
 * A queue on Kafka through any client with the kafkajs API (kafkajs, or Confluent's
 * KafkaJS-compatible client): `eachBatch` with manual offset resolution, committed only
 * after the handler succeeded; dead letters produced to the dead-letter topic; lag from
 * the admin API (high watermark − committed offset, summed over partitions).
 *
 * Each subscription is one Kafka consumer in the group; girder connects and disconnects
 * the producer, consumers and admin it creates, never your `Kafka` object.
 *
 * @throws InvalidArgumentError when `kafka` lacks producer(), consumer() or admin().
 * @throws InvalidOptionsError for unknown or out-of-range options.
 *
 * @example
 * ```ts
 * import { Kafka } from 'kafkajs';
 * import { kafkaQueue } from 'girder/mq';
 *
 * const queue = kafkaQueue(new Kafka({ clientId: 'shop', brokers: ['localhost:9092'] }));
 * await queue.consumer.consume('orders', async (batch) => {}, { group: 'mailer', deadLetter: 'orders.dlq' });
 * ```
 */
export function kafkaQueue(kafka: KafkaLike, options: KafkaQueueOptions = {}): Queue {
  const k = kafka as Partial<KafkaLike> | null;
  if (
    k === null ||
    typeof k !== 'object' ||
    typeof k.producer !== 'function' ||
    typeof k.consumer !== 'function' ||
    typeof k.admin !== 'function'
  ) {
    throw new InvalidArgumentError(
      'kafka',
      'must have the kafkajs Kafka API: producer(), consumer({ groupId }) and admin()',
    );
  }
  return new KafkaQueue(kafka, parseOptions('kafkaQueue', schema, options));
}
