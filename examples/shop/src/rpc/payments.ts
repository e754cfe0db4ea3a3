// payments over gRPC: `bindPayments` serves a PaymentsService; `paymentsClient`
// implements the same interface on a channel. Start carries a user (see ./orders.ts).
import type { Client, Server } from '@grpc/grpc-js';
import { type EventSource, TypedEmitter } from 'girder/core';
import type { PaymentStatus } from '../db/schema.js';
import type {
  CallbackOutcome,
  Payment,
  PaymentEvents,
  PaymentsService,
  ProviderEvent,
} from '../payments/service.js';
import { invoke, requireUser, unary, userMetadata } from './kit.js';
import { shopProtos } from './protos.js';

/** Payments methods (full paths) whose calls carry a user. */
export const PAYMENTS_USER_METHODS = ['/shop.payments.v1.Payments/Start'];

interface PaymentMsg {
  id: string;
  orderNo: string;
  amountCents: number;
  status: string;
  payUrl: string;
  createdAtMs: number;
}

/** Serve `payments` (`shop.payments.v1.Payments`) on `server`. */
export function bindPayments(server: Server, payments: PaymentsService): void {
  server.addService(shopProtos().payments.Payments.service, {
    Start: unary(async (r: { userId: string; orderNo: string }, call) => {
      requireUser(call, r.userId);
      return payments.start(r.userId, r.orderNo);
    }),
    HandleCallback: unary(async (r: { event: ProviderEvent; rawPayload: string }) =>
      payments.handleCallback(
        {
          eventId: r.event.eventId,
          merchantRef: r.event.merchantRef,
          providerPaymentId: r.event.providerPaymentId,
          status: r.event.status,
          amountCents: r.event.amountCents,
        },
        r.rawPayload,
      ),
    ),
    RetryPendingRefunds: unary(async () => ({ count: await payments.retryPendingRefunds() })),
    ForOrder: unary(async (r: { orderNo: string }) => ({
      items: (await payments.forOrder(r.orderNo)).map(
        (p): PaymentMsg => ({
          id: p.id,
          orderNo: p.orderNo,
          amountCents: p.amountCents,
          status: p.status,
          payUrl: p.payUrl ?? '',
          createdAtMs: p.createdAt.getTime(),
        }),
      ),
    })),
  });
}

/** Options of {@link paymentsClient}. */
export interface PaymentsClientOptions {
  /** The events `events` shows (see `OrdersClientOptions.events`). */
  events?: EventSource<PaymentEvents>;
}

/** A PaymentsService whose calls go over `client` (a `shop.payments.v1.Payments` client). */
export function paymentsClient(
  client: Client,
  options: PaymentsClientOptions = {},
): PaymentsService {
  return {
    events: options.events ?? new TypedEmitter<PaymentEvents>(),
    start: (userId, orderNo) =>
      invoke<{ paymentId: string; paymentUrl: string }>(
        client,
        'Start',
        { userId, orderNo },
        userMetadata(),
      ),
    async handleCallback(event, rawPayload) {
      const r = await invoke<{ outcome: CallbackOutcome; orderNo: string }>(
        client,
        'HandleCallback',
        { event, rawPayload },
      );
      return { outcome: r.outcome, orderNo: r.orderNo };
    },
    retryPendingRefunds: async () =>
      (await invoke<{ count: number }>(client, 'RetryPendingRefunds', {})).count,
    forOrder: async (orderNo) =>
      (await invoke<{ items: PaymentMsg[] }>(client, 'ForOrder', { orderNo })).items.map(
        (m): Payment => ({
          id: m.id,
          orderNo: m.orderNo,
          amountCents: m.amountCents,
          status: m.status as PaymentStatus,
          payUrl: m.payUrl === '' ? null : m.payUrl,
          createdAt: new Date(m.createdAtMs),
        }),
      ),
  };
}
