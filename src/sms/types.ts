// The SMS contract: one method, so every girder decorator (rate limit, breaker,
// failover, deadline) and every sms decorator stacks on it in any order.

/**
 * One SMS request: the same template and parameters to one or more phone numbers.
 *
 * @example
 * ```ts
 * const message: SmsMessage = {
 *   to: ['+8613800000000'],
 *   template: 'login_code',
 *   params: { code: '123456' },
 *   requestId: 'login:42:1',
 * };
 * ```
 */
export interface SmsMessage {
  /** Recipients in E.164 form (`+` country code and number), at least one. */
  readonly to: readonly string[];
  /** The provider-side template id or name; never empty. */
  readonly template: string;
  /** Values for the template's placeholders, by name. */
  readonly params?: Readonly<Record<string, string>>;
  /** The signature (sender name) shown to recipients, where the provider needs one. */
  readonly signName?: string;
  /**
   * Makes retries idempotent from the caller's side: the same id is sent at most once by
   * girder's queue and reported back in the result. Generated when absent.
   */
  readonly requestId?: string;
}

/**
 * What a provider accepted.
 *
 * @example
 * ```ts
 * const { provider, messageIds } = await sms.send(message);
 * ```
 */
export interface SmsResult {
  /** Which provider sent it (`aliyun`, `tencent`, a `name` option...). */
  readonly provider: string;
  /** The provider's ids for the messages, one per recipient where it gives them. */
  readonly messageIds: readonly string[];
  /** The request id: the caller's, or the one generated for this send. */
  readonly requestId: string;
}

/**
 * Sends SMS. Providers (`aliyunSms`, `tencentSms`, `httpSms`, `consoleSms`,
 * `memorySms`) and decorators (`tokenAuthSms`, `asyncFallback`, and girder's
 * `withRateLimit`, `withBreaker`, `failover`...) all have this one shape.
 *
 * @example
 * ```ts
 * import { memorySms } from 'girder/sms';
 *
 * const sms: SmsService = memorySms();
 * await sms.send({ to: ['+8613800000000'], template: 'welcome' });
 * ```
 */
export interface SmsService {
  /** Send `message`; `signal` cancels the request. */
  send(message: SmsMessage, signal?: AbortSignal): Promise<SmsResult>;
}
