/**
 * SMS: one SmsService interface, real providers with their request signing, stacked
 * decorators, verification codes, and a sync-to-async fallback that loses nothing.
 *
 * @module sms
 */
export type { SmsMessage, SmsResult, SmsService } from './types.js';
