// One service role composed on its own, for a process of its own (the cluster's
// children): its own database (DATABASE_URL: the role's, its migrations only), the Redis backends, a token verifier (the gateway issues,
// services only verify), clients for the services it calls (over etcd:///<service>),
// its service object, its own background work, and its gRPC node registered in etcd.
//
//   users          users + phones                      (no background work)
//   catalog        catalog                             (no background work)
//   inventory      inventory                           (no background work)
//   orders         orders -> catalog, inventory         expiry sweep (leader), `orders` group
//   payments       payments -> orders, the provider     refund retries + outbox relay (leader)
//   notifications  notifications -> users (phones)      `notifications` group, SMS queue worker
import { type Clock, systemClock } from 'girder/core';
import { consoleLogger, type Logger } from 'girder/logger';
import { tracing as watchTracing } from 'girder/observability';
import { type Backends, openBackends } from '../backends.js';
import { catalogReads } from '../catalog/cached.js';
import { catalogService } from '../catalog/service.js';
import type { ShopConfig } from '../config.js';
import { type OpenDatabase, openDatabase } from '../db/database.js';
import { inventoryService } from '../inventory/service.js';
import { notificationsService } from '../notifications/service.js';
import { dbTracing } from '../observe/trace-db.js';
import { traceService } from '../observe/trace-services.js';
import { startTracing } from '../observe/tracing.js';
import { ordersService } from '../orders/service.js';
import { paymentsService } from '../payments/service.js';
import type { ServiceImplementations, ServiceNode } from '../rpc/node.js';
import { SERVICE_NAMES, type ServiceName } from '../rpc/protos.js';
import { phonesService } from '../users/phones.js';
import { usersService } from '../users/service.js';
import { type Messaging, type MessagingOptions, startMessaging } from './messaging.js';
import { notificationSms } from './notification-sms.js';
import { mockApiKey, providerClient } from './payments.js';
import { shopEtcdRegistry } from './registry.js';
import { type RoleJobs, type Sweep, startRoleJobs } from './role-jobs.js';
import { type ShopRpc, startRpc } from './rpc.js';
import { buildTokens } from './security.js';
import type { SmsStack } from './sms.js';

/** What a service process is given. */
export interface ServiceContext {
  config: ShopConfig;
  /** The registry (ETCD_ENDPOINTS). */
  etcdEndpoints: readonly string[];
  /**
   * How services reach the gateway (SHOP_GATEWAY_URL): the payments service calls the
   * mock provider there and gives it the callback URL there.
   */
  gatewayUrl: string;
  clock?: Clock;
  logger?: Logger;
}

/** A composed, running service role. */
export interface ComposedService {
  readonly role: ServiceName;
  readonly node: ServiceNode;
  /** The database it opened. */
  readonly database: OpenDatabase;
  /** Its background work, when it has some (orders, payments). */
  readonly jobs: RoleJobs | undefined;
  /** Its messaging (outbox relay, consumer groups), when it has some. */
  readonly messaging: Messaging | undefined;
  /**
   * Its SMS stack, when it sends SMS (notifications): the fallback queue over its own
   * table, the providers' quota and the two mock providers (`setFailing` on each).
   */
  readonly sms: SmsStack | undefined;
  /** The clients of the services it calls, and the registry. */
  readonly rpc: ShopRpc;
  /** Change its weight in the registry; the callers' balancers follow. */
  setWeight(weight: number): Promise<void>;
  /** Deregister, drain, stop the background work, close every connection. */
  close(): Promise<void>;
}

export function isServiceName(role: string): role is ServiceName {
  return (SERVICE_NAMES as readonly string[]).includes(role);
}

/** What every role's messaging shares, filled in by `background`. */
type CommonMessaging = 'redisUrl' | 'redisPrefix' | 'outboxPollMs' | 'logger' | 'clock';

interface Built {
  implementation: ServiceImplementations[ServiceName];
  jobs?: RoleJobs;
  messaging?: Messaging;
  sms?: SmsStack;
  close?: () => Promise<void>;
}

async function buildRole(
  role: ServiceName,
  ctx: Required<ServiceContext>,
  database: OpenDatabase,
  /** The same database without the query tracing (for the SMS queue's polling worker). */
  untraced: OpenDatabase['db'],
  backends: Backends,
  rpc: ShopRpc,
  cleanup: Array<() => Promise<void> | void>,
): Promise<Built> {
  const { config, clock, logger } = ctx;
  const { db } = database;
  const peer = rpc.clients;
  // The role's background work: its election and sweeps, then its messaging (outbox
  // relay, consumer groups) following that election; both closed with the role.
  const background = async (
    sweeps: readonly Sweep[],
    messaging: Omit<MessagingOptions, 'db' | 'election' | CommonMessaging>,
  ) => {
    const jobs = await startRoleJobs({
      role,
      locker: backends.locker,
      leaderTtlMs: config.leaderTtlMs,
      clock,
      logger,
      sweeps,
    });
    cleanup.push(() => jobs.stop());
    const started = await startMessaging({
      redisUrl: config.redisUrl,
      redisPrefix: config.redisPrefix,
      outboxPollMs: config.outboxPollMs,
      logger,
      clock,
      db,
      election: jobs.election,
      ...messaging,
    });
    cleanup.push(() => started.close());
    return { jobs, messaging: started };
  };
  switch (role) {
    case 'users':
      return {
        implementation: {
          users: usersService({ db, hashCost: config.passwordHashCost }),
          phones: phonesService({ db }),
        },
      };
    case 'catalog':
      return { implementation: catalogService({ db }) };
    case 'inventory':
      return { implementation: inventoryService({ db, clock }) };
    case 'orders': {
      // Stock changes invalidate the gateway's catalog cache through the Redis bus.
      const reads = catalogReads({
        catalog: peer.catalog,
        inventory: peer.inventory,
        layers: backends.cacheLayers('catalog'),
        ttlMs: config.cacheTtlMs,
        clock,
      });
      cleanup.push(() => reads.close());
      const orders = ordersService({
        db,
        catalog: peer.catalog,
        inventory: peer.inventory,
        paymentTimeoutMs: config.orderTimeoutMs,
        clock,
        stockChanged: (ids) => reads.productsChanged(ids),
      });
      const { jobs, messaging } = await background(
        [{ name: 'expire-orders', everyMs: config.sweepIntervalMs, run: () => orders.expireDue() }],
        { relay: false, groups: ['orders'], orders },
      );
      return { implementation: orders, jobs, messaging };
    }
    case 'payments': {
      const gateway = ctx.gatewayUrl.replace(/\/+$/, '');
      const { provider } = providerClient(
        config,
        clock,
        () => `${gateway}/mock-pay`,
        mockApiKey(config),
      );
      let messaging: Messaging | undefined;
      const payments = paymentsService({
        db,
        orders: peer.orders,
        provider,
        clock,
        callbackBaseUrl: () => gateway,
        returnBaseUrl: () => config.publicUrl ?? gateway,
        onPaid: (tx, event) => {
          if (!messaging) throw new Error('messaging is not started');
          return messaging.orderPaid(tx, event);
        },
      });
      // The outbox is payments' table: its relay runs here, on the role's leader.
      const started = await background(
        [
          {
            name: 'retry-refunds',
            everyMs: config.refundRetryIntervalMs,
            run: () => payments.retryPendingRefunds(),
          },
        ],
        { relay: true, groups: [] },
      );
      messaging = started.messaging;
      return { implementation: payments, ...started };
    }
    case 'notifications': {
      // The gateway's SMS stack shape over the role's own queue table: an order-paid SMS
      // the providers refuse is stored and sent later by this instance's worker. Closed
      // after the consumer group (cleanup runs in reverse), so no send finds it closed.
      const sms = notificationSms({
        config,
        db: untraced,
        logger,
        clock,
        rateLimitStore: backends.rateLimitStore,
      });
      cleanup.push(() => sms.close());
      // No sweep (the election is the one messaging needs); the group runs on every instance.
      const { messaging } = await background([], {
        relay: false,
        groups: ['notifications'],
        sms: sms.stack,
        phones: peer.phones,
      });
      return { implementation: notificationsService({ db }), messaging, sms };
    }
  }
}

/**
 * Compose `role` alone and start its gRPC node, registered in etcd with
 * `config.rpc.weight`. Throws (having closed what it opened) when anything fails.
 */
export async function composeService(
  role: string,
  context: ServiceContext,
): Promise<ComposedService> {
  if (!isServiceName(role)) {
    throw new Error(
      `unknown service role ${JSON.stringify(role)} (one of ${SERVICE_NAMES.join(', ')})`,
    );
  }
  const ctx: Required<ServiceContext> = {
    clock: systemClock,
    logger: consoleLogger({ level: context.config.logLevel, format: context.config.logFormat }),
    ...context,
  };
  const { config, clock } = ctx;
  const cleanup: Array<() => Promise<void> | void> = [];
  const closeAll = async () => {
    for (const step of cleanup.reverse()) await Promise.resolve(step()).catch(() => {});
  };
  try {
    // A small pool: every instance of every role shares one PostgreSQL server.
    // Its own database (the cluster gives each role one), with its own migrations only.
    const opened = await openDatabase(
      config.database.kind === 'postgres' ? { ...config.database, poolSize: 4 } : config.database,
      { roles: [role], logger: ctx.logger },
    );
    cleanup.push(() => opened.close());
    // Tracing (SHOP_TRACING): this process's spans (server call -> service -> database),
    // as `shop-<role>`, continuing the caller's trace (W3C context in the gRPC metadata).
    const tracing = startTracing(config.tracing, undefined, `shop-${role}`);
    if (tracing) cleanup.push(() => tracing.shutdown());
    const queries = tracing && dbTracing(tracing.tracer, 'postgresql');
    const database = queries ? { ...opened, db: opened.db.withPlugin(queries.plugin) } : opened;
    const backends = await openBackends(config.redisUrl, config.redisPrefix, clock);
    cleanup.push(() => backends.close());
    const tokens = buildTokens(config, backends);
    const rpc = startRpc({
      config,
      verifier: tokens,
      clock,
      registry: shopEtcdRegistry(ctx.etcdEndpoints, `shop-${role}`),
    });
    cleanup.push(() => rpc.close());
    const built = await buildRole(role, ctx, database, opened.db, backends, rpc, cleanup);
    if (tracing && queries) {
      const watcher = watchTracing({ tracer: tracing.tracer });
      const unwatch = [watcher.watch(rpc.served), watcher.watch(rpc.calls)];
      cleanup.push(() => {
        for (const off of unwatch) off();
        watcher.close();
      });
      const traced = <T extends object>(service: T, name: string) =>
        traceService(service, name, tracing.tracer, queries.settle);
      built.implementation =
        role === 'users'
          ? (() => {
              const { users, phones } = built.implementation as ServiceImplementations['users'];
              return { users: traced(users, 'users'), phones: traced(phones, 'phones') };
            })()
          : traced(built.implementation, role);
    }
    // Last: the node registers only once everything behind it is up.
    const node = await rpc.serveOne(role, built.implementation);
    cleanup.push(() => node.close(1_000));
    let closing: Promise<void> | undefined;
    return {
      role,
      node,
      database,
      jobs: built.jobs,
      messaging: built.messaging,
      sms: built.sms,
      rpc,
      setWeight: (weight) => node.registration.update({ pid: String(process.pid) }, { weight }),
      close: () => {
        closing ??= closeAll();
        return closing;
      },
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
