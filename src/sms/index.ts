/**
 * SMS: one SmsService interface, real providers with their request signing, stacked
 * decorators, verification codes, and a sync-to-async fallback that loses nothing.
 *
 * @module sms
 */
export type { SmsMessage, SmsResult, SmsService } from './types.js';

// Sync-to-async fallback: the durable queue, its workers, the down detector.
export { createSmsQueueTable, type SmsQueueTableOptions } from './sql-queue-schema.js';
export { type MemorySmsQueueOptions, memorySmsQueue } from './memory-queue.js';
export {
  type EnqueueOptions,
  type EnqueueResult,
  MAX_REQUEST_ID_LENGTH,
  type SmsJob,
  type SmsJobInfo,
  type SmsJobRef,
  type SmsJobStatus,
  type SmsQueue,
  type SmsQueueDepth,
} from './queue.js';
export { type SmsClaimStrategy, type SqlSmsQueueOptions, sqlSmsQueue } from './sql-queue.js';
