// Every girder block the shop builds, watched by girder/observability on the shop's
// registry: limiters, the payment breaker, the provider's retry and its budget, the
// token service and the authorizer.
import type { Breaker } from 'girder/breaker';
import type { RetryBudget, WithRetry } from 'girder/failover';
import type { Authorizer, TokenService } from 'girder/jwt';
import { metrics } from 'girder/observability';
import type { RateLimiter } from 'girder/ratelimit';
import type { Registry } from 'prom-client';

/** girder/observability's metrics handle. */
export type BlockMetrics = ReturnType<typeof metrics>;

export interface WatchedBlocks {
  limiters: RateLimiter[];
  breaker: Breaker;
  /** The payment provider behind `withRetry`. */
  retry: WithRetry<object>;
  budget: RetryBudget;
  tokens: TokenService;
  authorizer: Authorizer;
}

/** Watch every block; resolves the metrics handle (for `httpMetrics`) and an unwatch-all. */
export function watchBlocks(registry: Registry, blocks: WatchedBlocks) {
  const m = metrics({ registry });
  const unwatch = [
    ...blocks.limiters.map((l) => m.watch(l)),
    m.watch(blocks.breaker),
    m.watch(blocks.retry, { name: 'payment-provider' }),
    m.watch(blocks.budget, { name: 'payment-provider' }),
    m.watch(blocks.tokens, { name: 'shop' }),
    m.watch(blocks.authorizer, { name: 'shop' }),
  ];
  return {
    metrics: m,
    unwatch: () => {
      for (const u of unwatch) u();
    },
  };
}
