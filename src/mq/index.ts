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
// outbox and idempotency
export { type MemoryIdempotencyStoreOptions, memoryIdempotencyStore } from './idem-memory.js';
export { type RedisIdempotencyStoreOptions, redisIdempotencyStore } from './idem-redis.js';
export {
  createIdempotencyTable,
  type IdempotencyTableOptions,
  type SqlIdempotencyContext,
  type SqlIdempotencyStore,
  type SqlIdempotencyStoreOptions,
  sqlIdempotencyStore,
} from './idem-sql.js';
export {
  IdempotencyBusyError,
  type IdempotencyContext,
  type IdempotencyStore,
  MAX_IDEMPOTENCY_KEY_LENGTH,
} from './idem-store.js';
export {
  type IdempotentEvents,
  type IdempotentHandler,
  type IdempotentOptions,
  idempotent,
  type MessageHandler,
} from './idempotent.js';
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
export { outbox } from './outbox.js';
export { createOutboxTable, type OutboxTableOptions } from './outbox-table.js';
export type { Outbox, OutboxEvents, OutboxOptions } from './outbox-types.js';
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
