// What every girder SMS provider reports on `.events`, and the shape providers share.
import type { EventSource } from '../core/index.js';
import type { SmsService } from './types.js';

/**
 * A provider accepted a message.
 *
 * @example
 * ```ts
 * aliyun.events.on('sent', (e: SmsSentEvent) => console.log(e.provider, e.durationMs));
 * ```
 */
export interface SmsSentEvent {
  /** The provider's name. */
  readonly provider: string;
  /** The message's request id. */
  readonly requestId: string;
  /** The template sent. */
  readonly template: string;
  /** How many recipients the message had. */
  readonly recipients: number;
  /** Time from the call to the provider's answer, ms. */
  readonly durationMs: number;
}

/**
 * A send failed: refused by validation before any request (`INVALID_PHONE`,
 * `INVALID_ARGUMENT`), refused by the provider (`SMS_PROVIDER_ERROR`), timed out
 * (`TIMEOUT`) or cancelled by the caller (`ABORTED`).
 *
 * @example
 * ```ts
 * aliyun.events.on('failed', (e: SmsFailedEvent) => {
 *   if (e.retryable) console.warn(`${e.provider}: ${e.code}`);
 * });
 * ```
 */
export interface SmsFailedEvent {
  /** The provider's name. */
  readonly provider: string;
  /** The message's request id (empty when the message was too malformed to have one). */
  readonly requestId: string;
  /** The template, when the message had one. */
  readonly template: string;
  /** How many recipients the message had (0 when malformed). */
  readonly recipients: number;
  /** Time from the call to the failure, ms. */
  readonly durationMs: number;
  /** The error's stable code (`SMS_PROVIDER_ERROR`, `TIMEOUT`, `INVALID_PHONE`...). */
  readonly code: string;
  /** Whether a retry later may succeed (timeouts, throttling, 5xx, network errors). */
  readonly retryable: boolean;
  /** The error thrown to the caller. */
  readonly error: unknown;
}

/**
 * Events of every girder SMS provider.
 *
 * @example
 * ```ts
 * const off = sms.events.on('sent', ({ provider }) => sent.inc({ provider }));
 * ```
 */
export type SmsEvents = {
  /** The provider accepted a message. */
  sent: SmsSentEvent;
  /** A send failed (see {@link SmsFailedEvent}). */
  failed: SmsFailedEvent;
};

/**
 * An {@link SmsService} that talks to one provider, with its name and events.
 *
 * @example
 * ```ts
 * import { memorySms, type SmsProvider } from 'girder/sms';
 *
 * const sms: SmsProvider = memorySms({ name: 'test' });
 * sms.events.on('failed', (e) => console.warn(e.code));
 * ```
 */
export interface SmsProvider extends SmsService {
  /** The `name` option (default: the kind). */
  readonly name: string;
  /** `aliyun`, `tencent`, `http`, `console` or `memory`. */
  readonly kind: string;
  /** `sent` and `failed` events. */
  readonly events: EventSource<SmsEvents>;
}
