/**
 * SMS: one SmsService interface, real providers with their request signing, stacked
 * decorators, verification codes, and a sync-to-async fallback that loses nothing.
 *
 * @module sms
 */

export { type AliyunSmsOptions, aliyunSms } from './aliyun-sms.js';
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
export {
  type CapturedSms,
  type MemorySms,
  type MemorySmsOptions,
  memorySms,
} from './memory-sms.js';
export { type RedisCodeStoreOptions, redisCodeStore } from './redis-code-store.js';
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
