// Shop metrics from girder events and the services' own events.
import type { Breaker } from 'girder/breaker';
import type { EventSource } from 'girder/core';
import type { RetryEvents } from 'girder/failover';
import type { TokenService } from 'girder/jwt';
import type { RateLimiter } from 'girder/ratelimit';
import type { Services } from '../http/context.js';
import type { MetricsRegistry } from '../metrics.js';

export function wireMetrics(
  metrics: MetricsRegistry,
  sources: {
    limiters: RateLimiter[];
    breaker: Breaker;
    retryEvents: EventSource<RetryEvents>;
    tokens: TokenService;
    services: Services;
  },
) {
  const { limiters, breaker, retryEvents, tokens, services } = sources;

  const decisions = metrics.counter(
    'girder_ratelimit_decisions_total',
    'Rate-limit decisions by limiter and outcome.',
  );
  for (const l of limiters) {
    l.events.on('decision', ({ decision }) =>
      decisions.inc({ limiter: l.name, outcome: decision.allowed ? 'allowed' : 'denied' }),
    );
  }

  const STATES = ['closed', 'open', 'half-open', 'isolated'] as const;
  metrics.gauge('girder_breaker_state', 'Circuit breaker state (1 = current).', () =>
    STATES.map((state) => ({
      labels: { breaker: breaker.name, state },
      value: breaker.state === state ? 1 : 0,
    })),
  );
  const transitions = metrics.counter(
    'girder_breaker_transitions_total',
    'Circuit breaker state changes.',
  );
  breaker.events.on('stateChange', ({ to }) => transitions.inc({ breaker: breaker.name, to }));
  const calls = metrics.counter(
    'girder_breaker_calls_total',
    'Calls through a circuit breaker by outcome.',
  );
  breaker.events.on('success', () => calls.inc({ breaker: breaker.name, outcome: 'success' }));
  breaker.events.on('failure', () => calls.inc({ breaker: breaker.name, outcome: 'failure' }));
  breaker.events.on('rejected', () => calls.inc({ breaker: breaker.name, outcome: 'rejected' }));

  const retries = metrics.counter(
    'girder_retry_attempts_total',
    'Retries of payment-provider calls.',
  );
  retryEvents.on('retry', () => retries.inc({ target: 'payment-provider' }));
  const giveUps = metrics.counter(
    'girder_retry_giveups_total',
    'Payment-provider calls that failed after retrying, by reason.',
  );
  retryEvents.on('giveUp', ({ reason }) => giveUps.inc({ target: 'payment-provider', reason }));

  const jwt = metrics.counter('girder_jwt_events_total', 'Token service events (girder/jwt).');
  tokens.events.on('issued', () => jwt.inc({ event: 'issued' }));
  tokens.events.on('refreshed', () => jwt.inc({ event: 'refreshed' }));
  tokens.events.on('loggedOut', () => jwt.inc({ event: 'logged_out' }));
  tokens.events.on('reuseDetected', () => jwt.inc({ event: 'refresh_reuse' }));
  tokens.events.on('rejected', ({ operation }) => jwt.inc({ event: `${operation}_rejected` }));

  const orders = metrics.counter('shop_orders_total', 'Order lifecycle events.');
  services.orders.events.on('placed', () => orders.inc({ event: 'placed' }));
  services.orders.events.on('replayed', () => orders.inc({ event: 'replayed' }));
  services.orders.events.on('outOfStock', () => orders.inc({ event: 'out_of_stock' }));
  services.orders.events.on('paid', () => orders.inc({ event: 'paid' }));
  services.orders.events.on('cancelled', ({ reason }) =>
    orders.inc({ event: `cancelled_${reason}` }),
  );

  const callbacks = metrics.counter(
    'shop_payment_callbacks_total',
    'Payment callbacks processed, by outcome.',
  );
  services.payments.events.on('callback', ({ outcome }) => callbacks.inc({ outcome }));
  const refunds = metrics.counter('shop_refunds_total', 'Refunds, by result.');
  services.payments.events.on('refunded', () => refunds.inc({ result: 'done' }));
  services.payments.events.on('refundFailed', () => refunds.inc({ result: 'failed' }));
}
