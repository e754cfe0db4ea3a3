// Tencent Cloud SMS (API 3.0, SendSms 2021-01-11): a JSON POST signed with
// TC3-HMAC-SHA256 (see tencent-sign.ts).
import { z } from 'zod';
import { type Clock, parseOptions } from '../core/index.js';
import { cloudDeliver } from './cloud-send.js';
import type { SmsProvider } from './events.js';
import { cloudProviderFields, createProvider } from './provider.js';
import { tc3Authorization } from './tencent-sign.js';

/**
 * Options of {@link tencentSms}.
 *
 * @example
 * ```ts
 * const options: TencentSmsOptions = {
 *   secretId: process.env.TENCENT_SECRET_ID!,
 *   secretKey: process.env.TENCENT_SECRET_KEY!,
 *   sdkAppId: '1400000000',
 *   signName: 'Girder Shop',
 * };
 * ```
 */
export interface TencentSmsOptions {
  /** The API SecretId. */
  secretId: string;
  /** The API SecretKey (derives the signing key; never sent). */
  secretKey: string;
  /** The SMS application id (`SmsSdkAppId`). */
  sdkAppId: string;
  /** Default signature (`SignName`) when a message has no `signName`. */
  signName?: string;
  /** API endpoint. Default `https://sms.tencentcloudapi.com/`. */
  endpoint?: string;
  /** `X-TC-Region`. Default `ap-guangzhou`. */
  region?: string;
  /** Per-request timeout, ms (connect and answer). Default 5 000. */
  timeoutMs?: number;
  /** Provider name in results and events. Default `tencent`. */
  name?: string;
  /**
   * Declared params per template, in the template's placeholder order: Tencent's
   * `TemplateParamSet` is positional, so this order is the one sent. Without it, params
   * go in the message object's key order.
   */
  templates?: Record<string, string[]>;
  /** Time source for `X-TC-Timestamp` and durations. Default `systemClock`. */
  clock?: Clock;
}

const schema = z.strictObject({
  secretId: z.string().min(1),
  secretKey: z.string().min(1),
  sdkAppId: z.string().min(1),
  region: z.string().min(1).default('ap-guangzhou'),
  ...cloudProviderFields({ endpoint: 'https://sms.tencentcloudapi.com/', name: 'tencent' }),
});

const SERVICE = 'sms';
const VERSION = '2021-01-11';
const CONTENT_TYPE = 'application/json; charset=utf-8';
/** Tencent's most recipients in one SendSms call. */
const MAX_RECIPIENTS = 200;

/** Error codes after which the same request may pass later (flow control, outages). */
function retryableCode(code: string): boolean {
  return (
    code.startsWith('RequestLimitExceeded') ||
    code.startsWith('InternalError') ||
    code === 'ServiceUnavailable' ||
    code === 'FailedOperation.SmsServiceBusy' ||
    code === 'LimitExceeded.DeliveryFrequencyLimit'
  );
}

interface SendStatus {
  readonly SerialNo?: string;
  readonly PhoneNumber?: string;
  readonly Code?: string;
  readonly Message?: string;
}

/**
 * An SMS provider on Tencent Cloud's SMS API 3.0 `SendSms` (TC3-HMAC-SHA256 request
 * signature). Recipients go as E.164 (`PhoneNumberSet`), params as the positional
 * `TemplateParamSet` (order: the `templates` option, else the params' key order), the
 * `requestId` as `SessionContext`. Answers one `SerialNo` per recipient.
 *
 * Errors: a refused request, or any recipient refused, is `SmsProviderError` with
 * Tencent's `Code` (`RequestLimitExceeded`, `InternalError...` retryable;
 * `AuthFailure.SignatureFailure`, `InvalidParameterValue...` not); a slow answer is
 * `TimeoutError`. When some recipients were accepted and others refused, the error says
 * how many were sent.
 *
 * @example
 * ```ts
 * import { tencentSms } from 'girder/sms';
 *
 * const tencent = tencentSms({
 *   secretId: process.env.TENCENT_SECRET_ID!,
 *   secretKey: process.env.TENCENT_SECRET_KEY!,
 *   sdkAppId: '1400000000',
 *   signName: 'Girder Shop',
 *   templates: { '449739': ['code', 'minutes'] },
 * });
 * await tencent.send({ to: ['+8613800000000'], template: '449739', params: { code: '123456', minutes: '10' } });
 * ```
 */
export function tencentSms(options: TencentSmsOptions): SmsProvider {
  const opts = parseOptions('tencentSms', schema, options);
  const { name, clock } = opts;
  const host = new URL(opts.endpoint).host;

  const deliver = cloudDeliver({
    name,
    endpoint: opts.endpoint,
    signName: opts.signName,
    maxRecipients: MAX_RECIPIENTS,
    retryableCode,
    sign: (message, signName) => {
      const order = opts.templates?.[message.template] ?? Object.keys(message.params);
      const payload = JSON.stringify({
        PhoneNumberSet: message.to,
        SmsSdkAppId: opts.sdkAppId,
        SignName: signName,
        TemplateId: message.template,
        TemplateParamSet: order.map((key) => message.params[key] as string),
        SessionContext: message.requestId,
      });
      const timestamp = Math.floor(clock.now() / 1000);
      const signed = { 'content-type': CONTENT_TYPE, host, 'x-tc-action': 'SendSms' };
      const authorization = tc3Authorization(
        { method: 'POST', uri: '/', query: '', headers: signed, payload },
        opts,
        timestamp,
        SERVICE,
      );
      const headers = {
        authorization,
        'content-type': CONTENT_TYPE,
        'x-tc-action': 'SendSms',
        'x-tc-timestamp': String(timestamp),
        'x-tc-version': VERSION,
        'x-tc-region': opts.region,
      };
      return { headers, body: payload };
    },
    read: (body, message) => {
      const response = (body as { Response?: unknown } | undefined)?.Response as
        | { Error?: { Code?: string; Message?: string }; SendStatusSet?: SendStatus[] }
        | undefined;
      if (response === undefined || typeof response !== 'object') return undefined;
      if (response.Error !== undefined) {
        const code = String(response.Error.Code ?? 'UNKNOWN');
        return { code, text: String(response.Error.Message ?? 'no message') };
      }
      const statuses = Array.isArray(response.SendStatusSet) ? response.SendStatusSet : [];
      const refused = statuses.filter((s) => s.Code !== 'Ok');
      if (refused.length > 0 || statuses.length !== message.to.length) {
        const first = refused[0];
        return {
          code: first?.Code ?? 'INCOMPLETE_ANSWER',
          text: `${statuses.length - refused.length} of ${message.to.length} recipients accepted; first refusal: ${first?.Message ?? 'missing status'}`,
          perRecipient: true,
        };
      }
      return { ids: statuses.map((s) => String(s.SerialNo ?? '')) };
    },
  });

  return createProvider(
    { name, kind: 'tencent', clock, timeoutMs: opts.timeoutMs, templates: opts.templates },
    deliver,
  );
}
