// orders over gRPC: `bindOrders` serves an OrdersService; `ordersClient` implements the
// same interface on a channel. Place, List, GetForUser and Cancel carry a user: the
// client forwards the gateway request's token, the server (authInterceptor) verifies it
// and the handler checks its subject is the user named in the request.
import type { Client, Server } from '@grpc/grpc-js';
import { type EventSource, TypedEmitter } from 'girder/core';
import type { StockLine } from '../inventory/service.js';
import type { Order, OrderEvents, OrdersService, PaidOutcome } from '../orders/service.js';
import { dateOf, invoke, msOf, requireUser, unary, userMetadata } from './kit.js';
import { shopProtos } from './protos.js';

/** Orders methods (full paths) whose calls carry a user: the auth interceptor guards these. */
export const ORDERS_USER_METHODS = ['Place', 'List', 'GetForUser', 'Cancel'].map(
  (m) => `/shop.orders.v1.Orders/${m}`,
);

interface OrderMsg {
  orderNo: string;
  userId: string;
  requestId: string;
  status: string;
  totalCents: number;
  items: Order['items'];
  createdAtMs: number;
  expiresAtMs: number;
  paidAtMs: number;
  cancelledAtMs: number;
  cancelReason: string;
}
interface MaybeOrder {
  found: boolean;
  order?: OrderMsg | null;
}

const toMsg = (o: Order): OrderMsg => ({
  orderNo: o.orderNo,
  userId: o.userId,
  requestId: o.requestId,
  status: o.status,
  totalCents: o.totalCents,
  items: o.items,
  createdAtMs: o.createdAt.getTime(),
  expiresAtMs: o.expiresAt.getTime(),
  paidAtMs: msOf(o.paidAt),
  cancelledAtMs: msOf(o.cancelledAt),
  cancelReason: o.cancelReason ?? '',
});
const fromMsg = (m: OrderMsg): Order => ({
  orderNo: m.orderNo,
  userId: m.userId,
  requestId: m.requestId,
  status: m.status as Order['status'],
  totalCents: m.totalCents,
  items: m.items.map((i) => ({
    productId: i.productId,
    name: i.name,
    unitPriceCents: i.unitPriceCents,
    quantity: i.quantity,
  })),
  createdAt: new Date(m.createdAtMs),
  expiresAt: new Date(m.expiresAtMs),
  paidAt: dateOf(m.paidAtMs),
  cancelledAt: dateOf(m.cancelledAtMs),
  cancelReason: m.cancelReason === '' ? null : (m.cancelReason as 'user' | 'timeout'),
});
const maybe = (o: Order | null): MaybeOrder =>
  o ? { found: true, order: toMsg(o) } : { found: false };
const unmaybe = (m: MaybeOrder): Order | null => (m.found && m.order ? fromMsg(m.order) : null);

/** Serve `orders` (`shop.orders.v1.Orders`) on `server`. */
export function bindOrders(server: Server, orders: OrdersService): void {
  server.addService(shopProtos().orders.Orders.service, {
    Place: unary(async (r: { userId: string; requestId: string; lines: StockLine[] }, call) => {
      requireUser(call, r.userId);
      const { order, created } = await orders.place(r.userId, r.requestId, r.lines);
      return { order: toMsg(order), created };
    }),
    List: unary(async (r: { userId: string; limit: number }, call) => {
      requireUser(call, r.userId);
      return { items: (await orders.list(r.userId, r.limit || undefined)).map(toMsg) };
    }),
    Get: unary(async (r: { orderNo: string }) => maybe(await orders.get(r.orderNo))),
    GetForUser: unary(async (r: { orderNo: string; userId: string }, call) => {
      requireUser(call, r.userId);
      return maybe(await orders.get(r.orderNo, r.userId));
    }),
    Cancel: unary(async (r: { userId: string; orderNo: string }, call) => {
      requireUser(call, r.userId);
      return toMsg(await orders.cancel(r.userId, r.orderNo));
    }),
    MarkPaid: unary(async (r: { orderNo: string; paymentId: string }) => ({
      outcome: await orders.markPaid(r.orderNo, r.paymentId),
    })),
    ExpireDue: unary(async () => ({ count: await orders.expireDue() })),
    UnitsSoldPage: unary(async (r: { afterProductId: number; limit: number }) => ({
      items: await orders.unitsSoldPage(r.afterProductId || undefined, r.limit),
    })),
  });
}

/** Options of {@link ordersClient}. */
export interface OrdersClientOptions {
  /**
   * The events `events` shows. The serving side's own events when it runs in this
   * process (the shop's counters follow them); default an emitter nothing emits on.
   */
  events?: EventSource<OrderEvents>;
}

/** An OrdersService whose calls go over `client` (a `shop.orders.v1.Orders` client). */
export function ordersClient(client: Client, options: OrdersClientOptions = {}): OrdersService {
  return {
    events: options.events ?? new TypedEmitter<OrderEvents>(),
    async place(userId, requestId, lines) {
      const r = await invoke<{ order: OrderMsg; created: boolean }>(
        client,
        'Place',
        { userId, requestId, lines: [...lines] },
        userMetadata(),
      );
      return { order: fromMsg(r.order), created: r.created };
    },
    list: async (userId, limit = 100) =>
      (
        await invoke<{ items: OrderMsg[] }>(client, 'List', { userId, limit }, userMetadata())
      ).items.map(fromMsg),
    get: async (orderNo, userId) =>
      unmaybe(
        userId === undefined
          ? await invoke<MaybeOrder>(client, 'Get', { orderNo })
          : await invoke<MaybeOrder>(client, 'GetForUser', { orderNo, userId }, userMetadata()),
      ),
    cancel: async (userId, orderNo) =>
      fromMsg(await invoke<OrderMsg>(client, 'Cancel', { userId, orderNo }, userMetadata())),
    markPaid: async (orderNo, paymentId) =>
      (await invoke<{ outcome: PaidOutcome }>(client, 'MarkPaid', { orderNo, paymentId })).outcome,
    expireDue: async () => (await invoke<{ count: number }>(client, 'ExpireDue', {})).count,
    unitsSoldPage: async (afterProductId, limit) =>
      (
        await invoke<{ items: Array<{ productId: number; sold: number }> }>(
          client,
          'UnitsSoldPage',
          { afterProductId: afterProductId ?? 0, limit },
        )
      ).items,
  };
}
