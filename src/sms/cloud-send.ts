// The send skeleton the cloud providers (aliyun, tencent) share: check the message
// against what every SendSms API needs, POST the provider's signed request, and turn its
// reply into message ids or an SmsProviderError. A provider supplies only how it signs
// and how it reads its own reply.
import { InvalidArgumentError } from '../core/index.js';
import { SmsProviderError } from './errors.js';
import { callProvider, httpError, retryableStatus } from './http-call.js';
import type { Deliver } from './provider.js';
import type { ValidMessage } from './validate.js';

/** @internal A signed request, ready to POST. */
export interface SignedRequest {
  readonly headers: Record<string, string>;
  readonly body: string;
}

/**
 * @internal What a cloud provider's reply said: the message ids, or a refusal with the
 * provider's code (`perRecipient`: refused per recipient; the HTTP status then does
 * not make it retryable).
 */
export type CloudAnswer =
  | { readonly ids: string[] }
  | { readonly code: string; readonly text: string; readonly perRecipient?: boolean };

/** @internal How one cloud provider signs a SendSms request and reads its reply. */
export interface CloudApi {
  readonly name: string;
  readonly endpoint: string;
  /** The provider's default `SignName`, for messages without one. */
  readonly signName: string | undefined;
  /** The most recipients one request may carry. */
  readonly maxRecipients: number;
  sign(message: ValidMessage, signName: string): SignedRequest;
  /** The reply's meaning; undefined when it is not the API's answer at all (a proxy page). */
  read(body: unknown, message: ValidMessage): CloudAnswer | undefined;
  /** Provider codes after which the same request may pass later (flow control, outages). */
  retryableCode(code: string): boolean;
}

/** @internal The `deliver` step of a cloud provider (see `createProvider`). */
export function cloudDeliver(api: CloudApi): Deliver {
  return async (message, signal) => {
    const signName = message.signName ?? api.signName;
    if (signName === undefined) {
      throw new InvalidArgumentError(
        'message.signName',
        'required: the message has none and the provider no default signName',
      );
    }
    if (message.to.length > api.maxRecipients) {
      throw new InvalidArgumentError(
        'message.to',
        `at most ${api.maxRecipients} recipients per request`,
      );
    }
    const { headers, body } = api.sign(message, signName);
    const reply = await callProvider(
      api.name,
      message.requestId,
      api.endpoint,
      { method: 'POST', headers, body },
      signal,
    );
    const answer = api.read(reply.body, message);
    if (answer === undefined) throw httpError(api.name, message.requestId, reply);
    if ('ids' in answer) return answer.ids;
    throw new SmsProviderError({
      provider: api.name,
      providerCode: answer.code,
      message: answer.text,
      status: reply.status,
      retryable:
        api.retryableCode(answer.code) ||
        (answer.perRecipient !== true && retryableStatus(reply.status)),
      requestId: message.requestId,
    });
  };
}
