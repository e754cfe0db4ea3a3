// The payment provider as the shop sees it, its HTTP client, and the resilience
// wrapper: every call goes through a girder circuit breaker and girder retry.

import { type Breaker, withBreaker } from 'girder/breaker';
import { type Backoff, exponential, isGirderError } from 'girder/core';
import { type RetryBudget, type WithRetry, withRetry } from 'girder/failover';

export interface CreatePaymentRequest {
  /** Our payment id; the provider treats it as an idempotency key. */
  merchantRef: string;
  amountCents: number;
  description: string;
  /** Where the provider POSTs its signed result. */
  callbackUrl: string;
  /** Where the provider sends the buyer afterwards. */
  returnUrl: string;
}

export interface CreatedPayment {
  providerPaymentId: string;
  /** The provider's checkout page for this payment. */
  payUrl: string;
}

export interface RefundRequest {
  providerPaymentId: string;
  amountCents: number;
  /** Idempotency key: refunding twice with the same key refunds once. */
  merchantRef: string;
}

/** A payment provider (the built-in mock one, or a real one behind the same interface). */
export interface PaymentProvider {
  createPayment(
    request: CreatePaymentRequest,
    options?: { signal?: AbortSignal },
  ): Promise<CreatedPayment>;
  refund(request: RefundRequest, options?: { signal?: AbortSignal }): Promise<void>;
}

/** The provider answered with an HTTP error. 4xx: our request is wrong, retrying will not help. */
export class ProviderHttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'ProviderHttpError';
  }
}

/** Errors that say nothing about the provider's health: our own bad requests. */
export const isClientError = (err: unknown) =>
  err instanceof ProviderHttpError && err.status >= 400 && err.status < 500;

export interface HttpProviderOptions {
  /** Provider base URL, e.g. `http://localhost:3000/mock-pay`; a function when it is known only after listen. */
  baseUrl: string | (() => string);
  apiKey: string;
  /** Per-request timeout. Default 3 000 ms. */
  timeoutMs?: number;
}

/** The provider's REST API over fetch. */
export function httpPaymentProvider(options: HttpProviderOptions): PaymentProvider {
  const base = () => (typeof options.baseUrl === 'string' ? options.baseUrl : options.baseUrl());
  const timeoutMs = options.timeoutMs ?? 3_000;
  const post = async (path: string, body: unknown, signal: AbortSignal | undefined) => {
    const timeout = AbortSignal.timeout(timeoutMs);
    const res = await fetch(`${base()}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${options.apiKey}` },
      body: JSON.stringify(body),
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
    });
    const text = await res.text();
    if (!res.ok)
      throw new ProviderHttpError(
        res.status,
        `payment provider answered ${res.status}: ${text.slice(0, 200)}`,
      );
    return text.length > 0 ? (JSON.parse(text) as unknown) : undefined;
  };
  return {
    async createPayment(request, opts) {
      const body = (await post('/api/payments', request, opts?.signal)) as {
        id?: unknown;
        payUrl?: unknown;
      };
      if (typeof body?.id !== 'string' || typeof body.payUrl !== 'string') {
        throw new ProviderHttpError(502, 'payment provider sent an unexpected answer');
      }
      return { providerPaymentId: body.id, payUrl: body.payUrl };
    },
    async refund(request, opts) {
      await post('/api/refunds', request, opts?.signal);
    },
  };
}

export interface ResilienceOptions {
  breaker: Breaker;
  /** Attempts per call, the first included. Default 3. */
  attempts?: number;
  /** Default exponential from 100 ms, capped at 1 s. */
  backoff?: Backoff;
  /** Shared retry budget, so retries cannot multiply an outage. */
  budget?: RetryBudget;
}

/**
 * `provider` with every call retried (girder/failover `withRetry`) around a circuit
 * breaker (girder/breaker `withBreaker`): each attempt counts for the breaker; once it
 * opens, calls fail fast with `CIRCUIT_OPEN` and are not retried. 4xx answers neither
 * trip the breaker nor get retried. Retry events are on the result's `events`.
 */
export function resilientProvider(
  provider: PaymentProvider,
  options: ResilienceOptions,
): WithRetry<PaymentProvider> {
  return withRetry(
    withBreaker(provider, options.breaker),
    {
      attempts: options.attempts ?? 3,
      backoff: options.backoff ?? exponential({ initialMs: 100, maxMs: 1_000 }),
      ...(options.budget && { budget: options.budget }),
      shouldRetry: (err) => !isClientError(err) && !isGirderError(err, 'CIRCUIT_OPEN'),
    },
    { name: 'payment-provider' },
  );
}
