/**
 * SMS: one SmsService interface, real providers with their request signing, stacked
 * decorators, verification codes, and a sync-to-async fallback that loses nothing.
 *
 * @module sms
 */

export {
  type AsyncFallbackOptions,
  type AsyncFallbackSms,
  asyncFallback,
  type FallbackWorkerOptions,
  isQueued,
  type QueuedSmsResult,
  type SendErrorMode,
} from './async-fallback.js';
export type { DetectorEvents, DetectorSample, DetectorVerdict, SmsDetector } from './detector.js';
export {
  type HealthDetector,
  type HealthDetectorOptions,
  type HealthDetectorStats,
  healthDetector,
} from './detector-health.js';
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
export { SmsQueueUnavailableError } from './queue-errors.js';
export type { QueuedReason, SmsQueueEvents } from './queue-events.js';
export { type SmsQueueWorker, type SmsQueueWorkerOptions, smsQueueWorker } from './queue-worker.js';
export { type SmsClaimStrategy, type SqlSmsQueueOptions, sqlSmsQueue } from './sql-queue.js';
// Sync-to-async fallback: the durable queue, its workers, the down detector.
export { createSmsQueueTable, type SmsQueueTableOptions } from './sql-queue-schema.js';
export type { SmsMessage, SmsResult, SmsService } from './types.js';
