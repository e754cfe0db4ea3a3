// The shop's counters in gateway mode (the cluster). In one process the counters follow
// the services' own events; when the services run in other processes the gateway sees
// only its calls to them. So the gateway's orders and payments clients are wrapped here
// to emit the same events from what each call answered:
//
//   Orders.Place            ok -> placed (created) or replayed; OUT_OF_STOCK -> outOfStock
//   Orders.Cancel           ok -> cancelled (user)
//   Payments.Start          ok -> started
//   Payments.HandleCallback ok -> callback (its outcome); `paid` -> orders paid
//   Payments.RetryPendingRefunds -> refunded, once per refund it reports
//
// What happens inside the services without a gateway call (the expiry sweep cancelling
// orders, the background refund retries, the `orders` consumer) is not seen here: those
// show in the gRPC call metrics of the instances, not in these counters.
import { TypedEmitter } from 'girder/core';
import { ShopError } from '../errors.js';
import type { OrderEvents, OrdersService } from '../orders/service.js';
import type { PaymentEvents, PaymentsService } from '../payments/service.js';

/** `orders` emitting OrderEvents from its calls' results. */
export function ordersWithEvents(orders: OrdersService): OrdersService {
  const events = new TypedEmitter<OrderEvents>();
  return {
    ...orders,
    events,
    async place(userId, requestId, lines) {
      try {
        const placed = await orders.place(userId, requestId, lines);
        const { order } = placed;
        if (placed.created) {
          events.emit('placed', {
            orderNo: order.orderNo,
            totalCents: order.totalCents,
            productIds: order.items.map((i) => i.productId),
          });
        } else {
          events.emit('replayed', { orderNo: order.orderNo });
        }
        return placed;
      } catch (err) {
        if (err instanceof ShopError && err.code === 'OUT_OF_STOCK') {
          events.emit('outOfStock', { productId: Number(err.details?.productId ?? 0) });
        }
        throw err;
      }
    },
    async cancel(userId, orderNo) {
      const order = await orders.cancel(userId, orderNo);
      events.emit('cancelled', {
        orderNo,
        reason: 'user',
        productIds: order.items.map((i) => i.productId),
      });
      return order;
    },
  };
}

/**
 * `payments` emitting PaymentEvents from its calls' results; a callback that paid its
 * order is also reported on `orders` (an {@link ordersWithEvents} result) as `paid`.
 */
export function paymentsWithEvents(
  payments: PaymentsService,
  orders: OrdersService,
): PaymentsService {
  const events = new TypedEmitter<PaymentEvents>();
  const orderEvents = orders.events instanceof TypedEmitter ? orders.events : undefined;
  return {
    ...payments,
    events,
    async start(userId, orderNo) {
      const started = await payments.start(userId, orderNo);
      events.emit('started', { paymentId: started.paymentId, orderNo });
      return started;
    },
    async handleCallback(event, rawPayload) {
      const result = await payments.handleCallback(event, rawPayload);
      events.emit('callback', { outcome: result.outcome });
      if (result.outcome === 'paid') {
        (orderEvents as TypedEmitter<OrderEvents> | undefined)?.emit('paid', {
          orderNo: result.orderNo,
        });
      }
      return result;
    },
    async retryPendingRefunds() {
      const refunded = await payments.retryPendingRefunds();
      for (let i = 0; i < refunded; i++) events.emit('refunded', { paymentId: '' });
      return refunded;
    },
  };
}
