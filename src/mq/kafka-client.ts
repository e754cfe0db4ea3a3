// The part of the kafkajs API the Kafka backend uses, written out so any client with that
// API fits (kafkajs itself, Confluent's KafkaJS-compatible client) and girder's types
// do not need kafkajs installed.

/**
 * A message as a kafkajs consumer hands it over.
 *
 * @example
 * ```ts
 * const m: KafkaLikeMessage = { key: null, value: Buffer.from('hi'), offset: '7' };
 * ```
 */
export interface KafkaLikeMessage {
  /** The key bytes, if any. */
  key: Buffer | null;
  /** The payload bytes. */
  value: Buffer | null;
  /** The offset, as a decimal string. */
  offset: string;
  /** Header values (kafkajs: Buffer, string or arrays of them). */
  headers?: Record<string, Buffer | string | (Buffer | string)[] | undefined>;
}

/**
 * The `eachBatch` payload of a kafkajs consumer (the fields girder uses).
 *
 * @example
 * ```ts
 * const eachBatch = async (p: KafkaLikeBatchPayload) => p.resolveOffset(p.batch.lastOffset());
 * ```
 */
export interface KafkaLikeBatchPayload {
  /** The fetched batch of one partition. */
  batch: {
    /** Topic of the batch. */
    topic: string;
    /** Partition of the batch. */
    partition: number;
    /** Its messages, in offset order. */
    messages: KafkaLikeMessage[];
    /** Offset of the last message. */
    lastOffset(): string;
  };
  /** Mark an offset handled (committed by `commitOffsetsIfNecessary`). */
  resolveOffset(offset: string): void;
  /** Keep the group session alive during long work. */
  heartbeat(): Promise<void>;
  /** Commit resolved offsets. */
  commitOffsetsIfNecessary(): Promise<void>;
  /** False once the consumer is stopping. */
  isRunning(): boolean;
  /** True when a rebalance took the partition away. */
  isStale(): boolean;
}

/**
 * A kafkajs consumer (the methods girder calls).
 *
 * @example
 * ```ts
 * const consumer: KafkaLikeConsumer = kafka.consumer({ groupId: 'mailer' });
 * ```
 */
export interface KafkaLikeConsumer {
  /** Connect to the cluster. */
  connect(): Promise<void>;
  /** Leave the group and close connections. */
  disconnect(): Promise<void>;
  /** Subscribe before `run`. */
  subscribe(subscription: { topics: string[]; fromBeginning?: boolean }): Promise<void>;
  /** Start the fetch loop. */
  run(config: {
    /** girder commits itself, after success. */
    autoCommit?: boolean;
    /** girder resolves offsets itself. */
    eachBatchAutoResolve?: boolean;
    /** Partitions handled at once. */
    partitionsConsumedConcurrently?: number;
    /** The batch callback. */
    eachBatch: (payload: KafkaLikeBatchPayload) => Promise<void>;
  }): Promise<void>;
  /** Read from `offset` next on that partition. */
  seek(target: { topic: string; partition: number; offset: string }): void;
}

/**
 * A kafkajs producer (the methods girder calls).
 *
 * @example
 * ```ts
 * const producer: KafkaLikeProducer = kafka.producer();
 * ```
 */
export interface KafkaLikeProducer {
  /** Connect to the cluster. */
  connect(): Promise<void>;
  /** Close connections. */
  disconnect(): Promise<void>;
  /** Publish a batch to one topic. */
  send(record: {
    /** The topic. */
    topic: string;
    /** The messages. */
    messages: { key?: string | null; value: Buffer; headers?: Record<string, string> }[];
    /** Acknowledgements required (-1: all in-sync replicas). */
    acks?: number;
  }): Promise<unknown>;
}

/**
 * A kafkajs admin client (the methods girder calls for lag).
 *
 * @example
 * ```ts
 * const admin: KafkaLikeAdmin = kafka.admin();
 * ```
 */
export interface KafkaLikeAdmin {
  /** Connect to the cluster. */
  connect(): Promise<void>;
  /** Close connections. */
  disconnect(): Promise<void>;
  /** High and low watermarks per partition. */
  fetchTopicOffsets(topic: string): Promise<{ partition: number; high: string; low: string }[]>;
  /** A group's committed offsets (`-1` when none). */
  fetchOffsets(options: {
    /** The group. */
    groupId: string;
    /** Topics to read. */
    topics: string[];
  }): Promise<{ topic: string; partitions: { partition: number; offset: string }[] }[]>;
}

/**
 * Anything with the kafkajs `Kafka` API: kafkajs' `new Kafka(...)` or Confluent's
 * KafkaJS-compatible client.
 *
 * @example
 * ```ts
 * import { Kafka } from 'kafkajs';
 * const kafka: KafkaLike = new Kafka({ clientId: 'shop', brokers: ['localhost:9092'] });
 * ```
 */
export interface KafkaLike {
  /** A new producer. */
  producer(config?: Record<string, unknown>): KafkaLikeProducer;
  /** A new consumer in a group. */
  consumer(config: { groupId: string } & Record<string, unknown>): KafkaLikeConsumer;
  /** A new admin client. */
  admin(): KafkaLikeAdmin;
}
