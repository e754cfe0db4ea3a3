/**
 * SMS: one SmsService interface, real providers with their request signing, stacked
 * decorators, verification codes, and a sync-to-async fallback that loses nothing.
 *
 * @module sms
 */

export { type AliyunSmsOptions, aliyunSms } from './aliyun-sms.js';
export {
  type AsyncFallbackOptions,
  type AsyncFallbackSms,
  asyncFallback,
  type FallbackWorkerOptions,
  isQueued,
  type QueuedSmsResult,
  type SendErrorMode,
} from './async-fallback.js';
export {
  type CodeCallOptions,
  type CodeEvent,
  type CodeFailedEvent,
  type CodeFailureReason,
  type CodeSent,
  type CodeService,
  type CodeServiceEvents,
  type CodeServiceOptions,
  codeService,
} from './code-service.js';
// Verification codes (sms branch).
export {
  type CheckOutcome,
  type CodeLimits,
  type CodeStore,
  type IssueOutcome,
  type MemoryCodeStoreOptions,
  memoryCodeStore,
} from './code-store.js';
// Providers (sms branch).
export { type ConsoleSmsOptions, consoleSms } from './console-sms.js';
export type { DetectorEvents, DetectorSample, DetectorVerdict, SmsDetector } from './detector.js';
export {
  type HealthDetector,
  type HealthDetectorOptions,
  type HealthDetectorStats,
  healthDetector,
} from './detector-health.js';
// Errors and message validation (sms branch).
export {
  CodeAttemptsExceededError,
  CodeExpiredError,
  CodeInvalidError,
  CodeSendTooFrequentError,
  InvalidPhoneError,
  SmsProviderError,
  SmsTemplateForbiddenError,
  SmsTokenError,
} from './errors.js';
export type { SmsEvents, SmsFailedEvent, SmsProvider, SmsSentEvent } from './events.js';
export { type HttpSmsOptions, httpSms } from './http-sms.js';
export { type MemorySmsQueueOptions, memorySmsQueue } from './memory-queue.js';
export {
  type CapturedSms,
  type MemorySms,
  type MemorySmsOptions,
  memorySms,
} from './memory-sms.js';
export type {
  EnqueueOptions,
  EnqueueResult,
  SmsJob,
  SmsJobInfo,
  SmsJobRef,
  SmsJobStatus,
  SmsQueue,
  SmsQueueDepth,
} from './queue.js';
export { SmsQueueUnavailableError } from './queue-errors.js';
export type { QueuedReason, SmsQueueEvents } from './queue-events.js';
export { type SmsQueueWorker, type SmsQueueWorkerOptions, smsQueueWorker } from './queue-worker.js';
export { type RedisCodeStoreOptions, redisCodeStore } from './redis-code-store.js';
export { type SmsClaimStrategy, type SqlSmsQueueOptions, sqlSmsQueue } from './sql-queue.js';
export { createSmsQueueTable, type SmsQueueTableOptions } from './sql-queue-schema.js';
export { type TencentSmsOptions, tencentSms } from './tencent-sms.js';
// Decorators (sms branch).
export {
  type SmsAuthorizedEvent,
  type SmsRefusedEvent,
  type SmsTokenVerifier,
  type TokenAuthSms,
  type TokenAuthSmsEvents,
  type TokenAuthSmsOptions,
  type TokenSmsMessage,
  tokenAuthSms,
} from './token-auth.js';
export type { SmsMessage, SmsResult, SmsService } from './types.js';
export {
  isE164,
  MAX_REQUEST_ID_LENGTH,
  type ValidateMessageOptions,
  type ValidMessage,
  validateMessage,
} from './validate.js';
