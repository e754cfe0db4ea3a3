// Every girder block the shop builds, watched by girder/observability: metrics on the
// shop's registry and, when tracing is on, spans (Redis round trips, breaker rejections
// and rate-limit denials as span events): limiters, the payment breaker, the provider's
// retry and its budget, the token service, the authorizer, the jobs' locker, the caches,
// the ranking job and the view counters.
import type { Tracer } from '@opentelemetry/api';
import type { Breaker } from 'girder/breaker';
import type { RetryBudget, WithRetry } from 'girder/failover';
import type { Authorizer, TokenService } from 'girder/jwt';
import { metrics, tracing, type WatchableBlock } from 'girder/observability';
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
  /** More blocks (the jobs' locker, the caches, the ranking job, the view counters). */
  more?: WatchableBlock[];
}

/**
 * Watch every block (and trace it when `tracer` is given); returns the metrics handle
 * (for `httpMetrics`) and a function that stops every watch.
 */
export function watchBlocks(registry: Registry, blocks: WatchedBlocks, tracer?: Tracer) {
  const m = metrics({ registry });
  const t = tracer && tracing({ tracer });
  const watched: Array<[WatchableBlock, string | undefined]> = [
    ...blocks.limiters.map((l): [WatchableBlock, undefined] => [l, undefined]),
    [blocks.breaker, undefined],
    [blocks.retry as WatchableBlock, 'payment-provider'],
    [blocks.budget, 'payment-provider'],
    [blocks.tokens, 'shop'],
    [blocks.authorizer, 'shop'],
    ...(blocks.more ?? []).map((b): [WatchableBlock, undefined] => [b, undefined]),
  ];
  const unwatch: Array<() => void> = [];
  for (const [block, name] of watched) {
    const options = name === undefined ? {} : { name };
    unwatch.push(m.watch(block, options));
    if (t) unwatch.push(t.watch(block, options));
  }
  return {
    metrics: m,
    unwatch: () => {
      for (const u of unwatch) u();
      t?.close();
    },
  };
}
