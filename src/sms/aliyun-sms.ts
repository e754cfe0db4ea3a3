// Alibaba Cloud SMS (Dysmsapi 2017-05-25 SendSms) over its RPC API: a form-encoded POST
// signed with HMAC-SHA1 (see aliyun-sign.ts).
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { type Clock, parseOptions } from '../core/index.js';
import { aliyunPercentEncode, aliyunSignature } from './aliyun-sign.js';
import { cloudDeliver } from './cloud-send.js';
import type { SmsProvider } from './events.js';
import { cloudProviderFields, createProvider } from './provider.js';

/**
 * Options of {@link aliyunSms}.
 *
 * @example
 * ```ts
 * const options: AliyunSmsOptions = {
 *   accessKeyId: process.env.ALIYUN_KEY_ID!,
 *   accessKeySecret: process.env.ALIYUN_KEY_SECRET!,
 *   signName: 'Girder Shop',
 * };
 * ```
 */
export interface AliyunSmsOptions {
  /** The AccessKey id. */
  accessKeyId: string;
  /** The AccessKey secret (signs every request; never sent). */
  accessKeySecret: string;
  /** Default signature (`SignName`) when a message has no `signName`. */
  signName?: string;
  /** API endpoint. Default `https://dysmsapi.aliyuncs.com/`. */
  endpoint?: string;
  /** `RegionId` parameter. Default `cn-hangzhou`. */
  regionId?: string;
  /** Per-request timeout, ms (connect and answer). Default 5 000. */
  timeoutMs?: number;
  /** Provider name in results and events. Default `aliyun`. */
  name?: string;
  /** Declared params per template (see `validateMessage`). Default: anything goes. */
  templates?: Record<string, string[]>;
  /** Time source for the `Timestamp` parameter and durations. Default `systemClock`. */
  clock?: Clock;
}

const schema = z.strictObject({
  accessKeyId: z.string().min(1),
  accessKeySecret: z.string().min(1),
  regionId: z.string().min(1).default('cn-hangzhou'),
  ...cloudProviderFields({ endpoint: 'https://dysmsapi.aliyuncs.com/', name: 'aliyun' }),
});

/** Aliyun's most recipients in one SendSms call. */
const MAX_RECIPIENTS = 1000;

/** Error codes after which the same request may pass later (flow control, outages). */
function retryableCode(code: string): boolean {
  return (
    code.startsWith('Throttling') ||
    code === 'isv.BUSINESS_LIMIT_CONTROL' ||
    code === 'ServiceUnavailable' ||
    code === 'InternalError' ||
    code === 'isp.SYSTEM_ERROR'
  );
}

/** Mainland numbers go without +86; others as country code + number, without +. */
function aliyunNumber(phone: string): string {
  return phone.startsWith('+86') ? phone.slice(3) : phone.slice(1);
}

/** `Timestamp`: ISO 8601 UTC without milliseconds. */
const timestamp = (ms: number) => `${new Date(ms).toISOString().slice(0, 19)}Z`;

/**
 * An SMS provider on Alibaba Cloud's Dysmsapi `SendSms` (RPC API, HMAC-SHA1 request
 * signature). The message's `params` become `TemplateParam` (JSON), its `requestId` the
 * `OutId`, its recipients `PhoneNumbers` (mainland numbers without `+86`). Answers
 * `messageIds: [BizId]`.
 *
 * Errors: the provider's refusals are `SmsProviderError` with Aliyun's `Code`
 * (`isv.BUSINESS_LIMIT_CONTROL`, `Throttling.User`, `ServiceUnavailable`... retryable;
 * `isv.MOBILE_NUMBER_ILLEGAL`, `SignatureDoesNotMatch`... not), a slow answer is
 * `TimeoutError`.
 *
 * @example
 * ```ts
 * import { aliyunSms } from 'girder/sms';
 *
 * const aliyun = aliyunSms({
 *   accessKeyId: process.env.ALIYUN_KEY_ID!,
 *   accessKeySecret: process.env.ALIYUN_KEY_SECRET!,
 *   signName: 'Girder Shop',
 *   templates: { SMS_154950909: ['code'] },
 * });
 * await aliyun.send({ to: ['+8613800000000'], template: 'SMS_154950909', params: { code: '123456' } });
 * ```
 */
export function aliyunSms(options: AliyunSmsOptions): SmsProvider {
  const opts = parseOptions('aliyunSms', schema, options);
  const { name, clock } = opts;

  const deliver = cloudDeliver({
    name,
    endpoint: opts.endpoint,
    signName: opts.signName,
    maxRecipients: MAX_RECIPIENTS,
    retryableCode,
    sign: (message, signName) => {
      const params: Record<string, string> = {
        AccessKeyId: opts.accessKeyId,
        Action: 'SendSms',
        Format: 'JSON',
        OutId: message.requestId,
        PhoneNumbers: message.to.map(aliyunNumber).join(','),
        RegionId: opts.regionId,
        SignName: signName,
        SignatureMethod: 'HMAC-SHA1',
        SignatureNonce: randomUUID(),
        SignatureVersion: '1.0',
        TemplateCode: message.template,
        Timestamp: timestamp(clock.now()),
        Version: '2017-05-25',
      };
      if (Object.keys(message.params).length > 0) {
        params.TemplateParam = JSON.stringify(message.params);
      }
      params.Signature = aliyunSignature('POST', params, opts.accessKeySecret);
      const body = Object.entries(params)
        .map(([key, value]) => `${aliyunPercentEncode(key)}=${aliyunPercentEncode(value)}`)
        .join('&');
      const headers = {
        'content-type': 'application/x-www-form-urlencoded',
        accept: 'application/json',
      };
      return { headers, body };
    },
    read: (body) => {
      const answer = body as { Code?: unknown; Message?: unknown; BizId?: unknown } | undefined;
      if (typeof answer?.Code !== 'string') return undefined;
      if (answer.Code === 'OK')
        return { ids: [typeof answer.BizId === 'string' ? answer.BizId : ''] };
      const text = typeof answer.Message === 'string' ? answer.Message : 'no message';
      return { code: answer.Code, text };
    },
  });

  return createProvider(
    { name, kind: 'aliyun', clock, timeoutMs: opts.timeoutMs, templates: opts.templates },
    deliver,
  );
}
