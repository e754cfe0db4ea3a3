// Every service role composed in this process (`npm run shop`, one process): the service
// objects on the one database. With SHOP_TRANSPORT=grpc they call each other through
// `peer` (the gRPC clients, served on loopback by this same process); direct, they hold
// each other. The cluster composes one role per process instead (./service.ts).
import type { Clock } from 'girder/core';
import { catalogService } from '../catalog/service.js';
import type { ShopConfig } from '../config.js';
import type { Db } from '../db/schema.js';
import { inventoryService } from '../inventory/service.js';
import type { OrderPaidEvent } from '../notifications/order-paid.js';
import { notificationsService } from '../notifications/service.js';
import type { OrderRows } from '../orders/order-rows.js';
import { ordersService } from '../orders/service.js';
import type { PaymentProvider } from '../payments/provider.js';
import { paymentsService } from '../payments/service.js';
import { phonesService } from '../users/phones.js';
import { usersService } from '../users/service.js';
import type { RpcClients } from './rpc.js';

/** The shop's services, whether local objects or gRPC clients: the same interfaces. */
export type ServiceSet = RpcClients;

export interface LocalOptions {
  db: Db;
  config: ShopConfig;
  clock: Clock;
  /** Wraps a service in tracing spans (identity when tracing is off). */
  traced: <T extends object>(service: T, name: string) => T;
  /** The gRPC clients the services call each other through; direct calls when undefined. */
  peer: RpcClients | undefined;
  /** The `orders` rows of the live-migration demo, when it runs. */
  rows?: OrderRows | undefined;
  /** After a commit that took or returned stock (the catalog cache). */
  stockChanged: (productIds: readonly number[]) => Promise<void>;
  /** The payment provider, behind retry and its breaker. */
  provider: PaymentProvider;
  callbackBaseUrl: () => string;
  returnBaseUrl: () => string;
  /** The `order.paid` outbox row, in the callback's transaction. */
  onPaid: (tx: Db, event: OrderPaidEvent) => Promise<void>;
}

export function composeLocal(options: LocalOptions): ServiceSet {
  const { db, config, clock, traced, peer } = options;
  const users = traced(usersService({ db, hashCost: config.passwordHashCost }), 'users');
  const catalog = traced(catalogService({ db }), 'catalog');
  const inventory = traced(inventoryService({ db, clock }), 'inventory');
  const orders = traced(
    ordersService({
      db,
      catalog: peer?.catalog ?? catalog,
      inventory: peer?.inventory ?? inventory,
      paymentTimeoutMs: config.orderTimeoutMs,
      clock,
      stockChanged: options.stockChanged,
      ...(options.rows && { rows: options.rows }),
    }),
    'orders',
  );
  const payments = traced(
    paymentsService({
      db,
      orders: peer?.orders ?? orders,
      provider: options.provider,
      clock,
      callbackBaseUrl: options.callbackBaseUrl,
      returnBaseUrl: options.returnBaseUrl,
      onPaid: options.onPaid,
    }),
    'payments',
  );
  return {
    users,
    phones: phonesService({ db }),
    catalog,
    inventory,
    orders,
    payments,
    notifications: notificationsService({ db }),
  };
}
