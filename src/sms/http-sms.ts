// A provider for any webhook-style SMS gateway: the validated message as JSON, one POST.
import { z } from 'zod';
import { type Clock, clockSchema, parseOptions, systemClock } from '../core/index.js';
import type { SmsProvider } from './events.js';
import { callProvider, httpError } from './http-call.js';
import { templatesSchema, timeoutSchema } from './options.js';
import { createProvider } from './provider.js';
import type { ValidMessage } from './validate.js';

/**
 * Options of {@link httpSms}.
 *
 * @example
 * ```ts
 * const options: HttpSmsOptions = {
 *   url: 'https://sms-gateway.internal/send',
 *   headers: { authorization: `Bearer ${process.env.SMS_GATEWAY_TOKEN}` },
 * };
 * ```
 */
export interface HttpSmsOptions {
  /** Where to POST. */
  url: string;
  /** Extra request headers (authentication...). Default none. */
  headers?: Record<string, string>;
  /** Per-request timeout, ms. Default 5 000. */
  timeoutMs?: number;
  /** Provider name in results and events. Default `http`. */
  name?: string;
  /** Declared params per template (see `validateMessage`). Default: anything goes. */
  templates?: Record<string, string[]>;
  /** Time source for durations. Default `systemClock`. */
  clock?: Clock;
}

const schema = z.strictObject({
  url: z.string().url(),
  headers: z.record(z.string().min(1), z.string()).default({}),
  timeoutMs: timeoutSchema(5_000),
  name: z.string().min(1).default('http'),
  templates: templatesSchema,
  clock: clockSchema.default(systemClock),
});

/**
 * A generic webhook provider. Each message is POSTed as JSON
 * `{ to, template, params, signName?, requestId }` with an `idempotency-key: <requestId>`
 * header. A 2xx answer succeeds; its JSON `messageIds` (an array of strings), when
 * present, is returned. Any other status is `SmsProviderError` (`HTTP_<status>`, with
 * the gateway's own `code` when the body has one), retryable for 408, 429 and 5xx.
 *
 * @example
 * ```ts
 * import { httpSms } from 'girder/sms';
 *
 * const gateway = httpSms({
 *   url: 'https://sms-gateway.internal/send',
 *   headers: { authorization: `Bearer ${process.env.SMS_GATEWAY_TOKEN}` },
 *   timeoutMs: 2_000,
 * });
 * await gateway.send({ to: ['+8613800000000'], template: 'welcome' });
 * ```
 */
export function httpSms(options: HttpSmsOptions): SmsProvider {
  const opts = parseOptions('httpSms', schema, options);
  const { name } = opts;
  const deliver = async (message: ValidMessage, signal: AbortSignal | undefined) => {
    const reply = await callProvider(
      name,
      message.requestId,
      opts.url,
      {
        method: 'POST',
        headers: {
          ...opts.headers,
          'content-type': 'application/json',
          'idempotency-key': message.requestId,
        },
        body: JSON.stringify(message),
      },
      signal,
    );
    if (reply.status < 200 || reply.status > 299) {
      const code = (reply.body as { code?: unknown } | undefined)?.code;
      throw typeof code === 'string' && code !== ''
        ? httpError(name, message.requestId, reply, code)
        : httpError(name, message.requestId, reply);
    }
    const ids = (reply.body as { messageIds?: unknown } | undefined)?.messageIds;
    return Array.isArray(ids) && ids.every((id) => typeof id === 'string') ? (ids as string[]) : [];
  };
  return createProvider(
    { name, kind: 'http', clock: opts.clock, timeoutMs: opts.timeoutMs, templates: opts.templates },
    deliver,
  );
}
