// Metrics of a rate or concurrency limiter, from its `decision`, `storeError`,
// `fallback` and `recovered` events.
import type { Decision, RateLimiter, RateLimiterEvents } from '../ratelimit/index.js';
import { cellsBy, type Scope, subscribe } from './scope.js';
import { eventedBag, isFn } from './shape.js';

/** @internal Whether `block` is a rate or concurrency limiter. */
export function ratelimitKindOf(block: unknown): 'ratelimit' | undefined {
  const b = eventedBag(block);
  if (b === undefined) return undefined;
  return isFn(b.limit) && typeof b.algorithm === 'string' ? 'ratelimit' : undefined;
}

/** @internal Map a limiter's events to `<prefix>ratelimit_*`. */
export function watchLimiter(scope: Scope, limiter: RateLimiter<Decision>): () => void {
  const decisions = scope.counter(
    'ratelimit_decisions_total',
    'Rate limiter decisions, by outcome (allowed, denied).',
    ['outcome'],
  );
  const allowed = decisions.series({ outcome: 'allowed' });
  const denied = decisions.series({ outcome: 'denied' });
  const events = scope.counter(
    'ratelimit_events_total',
    'Rate limiter events, by kind (fallback_decision, store_error, fallback, recovered).',
    ['kind'],
  );
  const byFallback = events.series({ kind: 'fallback_decision' });
  const storeErrors = events.series({ kind: 'store_error' });
  const fallbacks = events.series({ kind: 'fallback' });
  const recoveries = events.series({ kind: 'recovered' });
  const errorsByMode = cellsBy(
    scope.counter(
      'ratelimit_store_errors_total',
      'Rate limiter store failures, by the onStoreError mode answering meanwhile.',
      ['mode'],
    ),
  );
  const downtime = scope.histogram(
    'ratelimit_store_down_seconds',
    'How long a rate limiter bypassed its failing store, seconds.',
  );
  const downCell = downtime.cell(scope.base);
  return subscribe(limiter.events, {
    decision: (e: RateLimiterEvents['decision']) => {
      if (e.decision.allowed) allowed.value++;
      else denied.value++;
      if (e.source === 'fallback') byFallback.value++;
    },
    storeError: (e: RateLimiterEvents['storeError']) => {
      storeErrors.value++;
      const mode = e.mode ?? 'unknown';
      errorsByMode(mode, () => ({ mode })).value++;
    },
    fallback: () => {
      fallbacks.value++;
    },
    recovered: (e: RateLimiterEvents['recovered']) => {
      recoveries.value++;
      downtime.observe(downCell, e.downMs / 1000);
    },
  });
}
