// The payment provider: the built-in mock unless configured, reached over HTTP through
// retry (girder/failover) around a circuit breaker (girder/breaker).
import { createHmac, randomBytes } from 'node:crypto';
import { type Breaker, circuitBreaker, consecutiveFailures } from 'girder/breaker';
import type { Clock } from 'girder/core';
import { type RetryBudget, retryBudget, type WithRetry } from 'girder/failover';
import type { ShopConfig } from '../config.js';
import { mockPaymentProvider } from '../mock-provider/plugin.js';
import {
  httpPaymentProvider,
  isClientError,
  type PaymentProvider,
  resilientProvider,
} from '../payments/provider.js';
import type { Addresses } from './addresses.js';

export interface PaymentWiring {
  /** Signs the provider's callbacks. */
  secret: string;
  mock: ReturnType<typeof mockPaymentProvider>;
  breaker: Breaker;
  /** The provider behind retry and the breaker; its retry events are on `provider.events`. */
  provider: WithRetry<PaymentProvider>;
  /** The retry budget shared by every provider call. */
  budget: RetryBudget;
}

/**
 * The key the payments service sends the mock provider. Derived from
 * SHOP_PAYMENT_SECRET when set, so a payments instance in another process (cluster
 * mode) holds the key the gateway's mock provider expects; random otherwise.
 */
export function mockApiKey(config: ShopConfig): string {
  return config.paymentSecret === undefined
    ? randomBytes(16).toString('base64url')
    : createHmac('sha256', config.paymentSecret)
        .update('mock-provider-api-key')
        .digest('base64url');
}

export function buildPaymentProvider(
  config: ShopConfig,
  clock: Clock,
  addresses: Addresses,
): PaymentWiring {
  const secret = config.paymentSecret ?? randomBytes(24).toString('base64url');
  const apiKey = mockApiKey(config);
  const mock = mockPaymentProvider({
    secret,
    apiKey,
    baseUrl: () => `${addresses.publicUrl()}/mock-pay`,
    now: () => clock.now(),
  });
  return {
    secret,
    mock,
    ...providerClient(config, clock, () => `${addresses.internalUrl()}/mock-pay`, apiKey),
  };
}

/**
 * The provider as the payments service calls it: HTTP (to SHOP_PAYMENT_PROVIDER_URL, else
 * the mock at `mockUrl()`), through retry around a breaker.
 */
export function providerClient(
  config: ShopConfig,
  clock: Clock,
  mockUrl: () => string,
  apiKey: string,
): Pick<PaymentWiring, 'breaker' | 'provider' | 'budget'> {
  const breaker = circuitBreaker({
    name: 'payment-provider',
    policy: consecutiveFailures({ threshold: 5 }),
    openMs: config.paymentBreakerOpenMs,
    clock,
    isFailure: (err) => !isClientError(err),
  });
  const budget = retryBudget({ ratio: 0.2, minPerSec: 5, name: 'payment-provider' });
  const provider = resilientProvider(
    httpPaymentProvider({
      baseUrl: () => config.paymentProviderUrl ?? mockUrl(),
      apiKey,
    }),
    {
      breaker,
      attempts: 3,
      budget,
    },
  );
  return { breaker, provider, budget };
}
