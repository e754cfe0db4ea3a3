// The shop's own counters, as prom-client metrics on the shop's registry, fed by the
// services' events. Girder blocks are watched by girder/observability (./watch.ts).
import { Counter, type Registry } from 'prom-client';
import type { Services } from '../http/context.js';

/** Counters that route modules increment themselves (the rest follow service events). */
export interface ShopCounters {
  /** Accounts created. */
  signups: Counter;
  /** Requests refused by the auth plugin, by girder/jwt error `code`. */
  authRejections: Counter<'code'>;
  /** Payment callbacks refused before processing, by `reason` (signature, json). */
  callbackRejections: Counter<'reason'>;
}

/** Register the shop's counters on `registry` and subscribe them to the services' events. */
export function shopCounters(registry: Registry, services: Services): ShopCounters {
  const registers = [registry];
  const orders = new Counter({
    name: 'shop_orders_total',
    help: 'Order lifecycle events.',
    labelNames: ['event'],
    registers,
  });
  services.orders.events.on('placed', () => orders.inc({ event: 'placed' }));
  services.orders.events.on('replayed', () => orders.inc({ event: 'replayed' }));
  services.orders.events.on('outOfStock', () => orders.inc({ event: 'out_of_stock' }));
  services.orders.events.on('paid', () => orders.inc({ event: 'paid' }));
  services.orders.events.on('cancelled', ({ reason }) =>
    orders.inc({ event: `cancelled_${reason}` }),
  );

  const callbacks = new Counter({
    name: 'shop_payment_callbacks_total',
    help: 'Payment callbacks processed, by outcome.',
    labelNames: ['outcome'],
    registers,
  });
  services.payments.events.on('callback', ({ outcome }) => callbacks.inc({ outcome }));
  const refunds = new Counter({
    name: 'shop_refunds_total',
    help: 'Refunds, by result.',
    labelNames: ['result'],
    registers,
  });
  services.payments.events.on('refunded', () => refunds.inc({ result: 'done' }));
  services.payments.events.on('refundFailed', () => refunds.inc({ result: 'failed' }));

  return {
    signups: new Counter({ name: 'shop_signups_total', help: 'Accounts created.', registers }),
    authRejections: new Counter({
      name: 'shop_auth_rejections_total',
      help: 'Requests refused by the auth plugin, by girder/jwt error code.',
      labelNames: ['code'],
      registers,
    }),
    callbackRejections: new Counter({
      name: 'shop_payment_callbacks_rejected_total',
      help: 'Payment callbacks refused before processing, by reason.',
      labelNames: ['reason'],
      registers,
    }),
  };
}
