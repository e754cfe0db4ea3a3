/**
 * Messaging: one queue contract over memory, Redis Streams and Kafka (any client with
 * the kafkajs API), batch consumers with per-key order, retries and dead letters, an
 * outbox on Kysely and idempotent consumers.
 *
 * @module mq
 */

// --- queue contract and backends (mq engineer) ---
export { DEAD_LETTER_HEADERS } from './dead-letter.js';
export { QueueClosedError } from './errors.js';
export type {
  KafkaLike,
  KafkaLikeAdmin,
  KafkaLikeBatchPayload,
  KafkaLikeConsumer,
  KafkaLikeMessage,
  KafkaLikeProducer,
} from './kafka-client.js';
export { type KafkaQueueOptions, kafkaQueue } from './kafka-queue.js';
export { type MemoryQueueOptions, memoryQueue } from './memory-queue.js';
export { type RedisStreamsQueueOptions, redisStreamsQueue } from './redis-streams-queue.js';
export type {
  BatchHandler,
  ConsumeOptions,
  Consumer,
  GroupLag,
  OutgoingMessage,
  Producer,
  Queue,
  QueueEvents,
  ReceivedMessage,
  RetryPolicy,
  Subscription,
} from './types.js';
