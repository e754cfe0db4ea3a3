// One HTTP round trip to a provider over the global fetch, with its failures typed: a
// connection that fails is a retryable SMS_PROVIDER_ERROR (`NETWORK`); an answer that is
// not JSON keeps its status. Timeouts and the caller's abort come from the signal the
// provider base passes in (withTimeout), so they stay TIMEOUT / ABORTED.
import { SmsProviderError } from './errors.js';

/** @internal What the provider answered. */
export interface ProviderReply {
  readonly status: number;
  /** The parsed JSON body, or undefined when it was not JSON. */
  readonly body: unknown;
  readonly text: string;
}

/** @internal */
export async function callProvider(
  provider: string,
  requestId: string,
  url: string,
  init: { method: string; headers: Record<string, string>; body: string },
  signal: AbortSignal | undefined,
): Promise<ProviderReply> {
  let response: Response;
  let text: string;
  try {
    response = await fetch(url, { ...init, signal });
    text = await response.text();
  } catch (error) {
    if (signal?.aborted) throw signal.reason ?? error;
    throw new SmsProviderError({
      provider,
      providerCode: 'NETWORK',
      message: error instanceof Error ? error.message : String(error),
      status: 0,
      retryable: true,
      requestId,
      cause: error,
    });
  }
  let body: unknown;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: response.status, body, text };
}

/** Throttling and server errors may pass on a later try; other 4xx will not. @internal */
export function retryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/** @internal The error for an answer that is neither success nor a provider error body. */
export function httpError(
  provider: string,
  requestId: string,
  reply: ProviderReply,
  providerCode = `HTTP_${reply.status}`,
) {
  return new SmsProviderError({
    provider,
    providerCode,
    message: reply.text.slice(0, 200) || 'no body',
    status: reply.status,
    retryable: retryableStatus(reply.status),
    requestId,
  });
}
