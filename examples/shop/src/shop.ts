import Fastify from 'fastify';
import { systemClock } from 'girder/core';
import { consoleLogger } from 'girder/logger';
import { withRateLimit } from 'girder/ratelimit';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { openBackends } from './backends.js';
import { type CatalogReads, catalogReads } from './catalog/cached.js';
import { productViews } from './catalog/views.js';
import { addressesOf } from './compose/addresses.js';
import { ordersWithEvents, paymentsWithEvents } from './compose/gateway-events.js';
import { mountHttp } from './compose/http.js';
import { startJobs } from './compose/jobs.js';
import { composeLocal, type ServiceSet } from './compose/local.js';
import { type Messaging, startMessaging } from './compose/messaging.js';
import { buildPaymentProvider } from './compose/payments.js';
import { popularRanking } from './compose/popular.js';
import { shopEtcdRegistry } from './compose/registry.js';
import { startRpc, watchRpc } from './compose/rpc.js';
import { buildSecurity } from './compose/security.js';
import type { Shop, ShopOptions } from './compose/shop-types.js';
import { buildSms } from './compose/sms.js';
import type { ShopConfig } from './config.js';
import { openDatabase } from './db/database.js';
import type { Services } from './http/context.js';
import { clusterRoutes } from './http/routes/cluster.js';
import { migrationRoutes } from './http/routes/migration.js';
import { startOrdersMigration } from './migration/orders-migration.js';
import { inProcessCluster } from './observe/cluster-in-process.js';
import { opsSnapshot, transitionLog } from './observe/ops.js';
import { clusterOps } from './observe/ops-cluster.js';
import { jobsOps } from './observe/ops-jobs.js';
import { migrationOps } from './observe/ops-migration.js';
import { mqOps } from './observe/ops-mq.js';
import { shopCounters } from './observe/shop-metrics.js';
import { dbTracing } from './observe/trace-db.js';
import { traceService } from './observe/trace-services.js';
import { startTracing } from './observe/tracing.js';
import { watchBlocks } from './observe/watch.js';
import { asCaller } from './rpc/kit.js';
import { seedDemoData } from './seed.js';
import type { LoginContext } from './users/service.js';

export type { Shop, ShopOptions } from './compose/shop-types.js';

export async function createShop(config: ShopConfig, options: ShopOptions = {}): Promise<Shop> {
  const clock = options.clock ?? systemClock;
  const logger =
    options.logger ?? consoleLogger({ level: config.logLevel, format: config.logFormat });
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const cleanup: Array<() => Promise<void> | void> = [];
  const closeAll = async () => {
    for (const step of cleanup.reverse()) await Promise.resolve(step()).catch(() => {});
  };

  try {
    // --- storage -------------------------------------------------------------------
    // Gateway mode: the gateway's own database and tables; one process: every role's.
    const gatewayMode = config.rpc.transport === 'grpc' && (options.etcdEndpoints?.length ?? 0) > 0;
    const database =
      options.database ??
      (await openDatabase(config.database, {
        ...(gatewayMode && { roles: ['gateway'] }),
        logger,
      }));
    cleanup.push(() => database.close());
    // Tracing (off by default): request -> service -> database spans; as `shop-gateway` in
    // the cluster (its instances export as `shop-<role>`).
    const serviceName = gatewayMode ? 'shop-gateway' : undefined;
    const tracing = startTracing(config.tracing, options.spanExporter, serviceName);
    if (tracing) cleanup.push(() => tracing.shutdown());
    const queries = tracing && dbTracing(tracing.tracer, 'postgresql');
    const db = queries ? database.db.withPlugin(queries.plugin) : database.db;
    const traced = <T extends object>(service: T, name: string): T =>
      tracing && queries ? traceService(service, name, tracing.tracer, queries.settle) : service;
    const backends = await openBackends(config.redisUrl, config.redisPrefix, clock);
    cleanup.push(() => backends.close());

    const app = Fastify({
      logger: false,
      bodyLimit: 64 * 1024,
      forceCloseConnections: true,
      trustProxy: config.trustProxy,
    });
    const addresses = addressesOf(app, config);

    // --- girder: tokens, authorization, rate limits, the payment provider ---------------
    const security = await buildSecurity(config, backends, logger);
    cleanup.push(() => security.authorizer.close());
    const payment = buildPaymentProvider(config, clock, addresses);
    // SHOP_TRANSPORT=grpc: every service behind its own gRPC server; `peer` are the
    // clients services and the gateway call each other through. Gateway mode: the
    // servers are other processes, found in etcd.
    const rpc =
      config.rpc.transport === 'grpc'
        ? startRpc({
            config,
            verifier: security.tokens,
            clock,
            ...(gatewayMode && {
              registry: shopEtcdRegistry(options.etcdEndpoints ?? [], 'shop-gateway'),
            }),
          })
        : undefined;
    if (rpc) cleanup.push(() => rpc.close());
    // The ops page's cluster panel (instances, lease state, SWRR split; kill, +1, weight).
    const cluster =
      options.cluster ?? (rpc && !gatewayMode ? inProcessCluster(rpc, { clock }) : undefined);
    const clusterView = rpc && clusterOps(rpc, { clock, control: cluster });
    if (clusterView) cleanup.push(() => clusterView.stop());
    const peer = rpc?.clients;

    // --- services --------------------------------------------------------------------
    // The live-migration demo (girder/migrator): `orders` rows go through its dual writer.
    // Not in gateway mode: the orders table lives with the orders instances.
    const migration =
      config.migration && !gatewayMode
        ? await startOrdersMigration({
            config: config.migration,
            main: db,
            logger,
            clock,
            ...(options.migrationTarget && { target: options.migrationTarget }),
          })
        : undefined;
    if (migration) cleanup.push(() => migration.close());
    let reads: CatalogReads | undefined;
    let messaging: Messaging | undefined;
    // One process: every role composed here. Gateway mode: none (they run elsewhere).
    const local = gatewayMode
      ? undefined
      : composeLocal({
          db,
          config,
          clock,
          traced,
          peer,
          rows: migration?.rows,
          stockChanged: async (ids) => reads?.productsChanged(ids),
          provider: payment.provider,
          callbackBaseUrl: () =>
            config.publicUrl ? addresses.publicUrl() : addresses.internalUrl(),
          returnBaseUrl: addresses.publicUrl,
          // The `order.paid` outbox row, in the callback's transaction. Messaging starts
          // after the jobs' election exists; no callback is served before (HTTP is last).
          onPaid: (tx, event) => {
            const relay = messaging;
            if (!relay) throw new Error('messaging is not started');
            return relay.orderPaid(tx, event);
          },
        });
    // What the gateway calls: the gRPC clients, else the local objects. Gateway mode: the
    // orders and payments clients emit the services' events from their calls' results,
    // for the shop's counters (./compose/gateway-events.ts).
    const reached: ServiceSet = peer ?? (local as ServiceSet);
    const countedOrders = gatewayMode ? ordersWithEvents(reached.orders) : reached.orders;
    const api: ServiceSet = gatewayMode
      ? {
          ...reached,
          orders: countedOrders,
          payments: paymentsWithEvents(reached.payments, countedOrders),
        }
      : reached;
    // Startup and background work use the local objects when there are some (as before).
    const own: ServiceSet = local ?? api;
    // Catalog reads through girder/cache (two-level with REDIS_URL, L1 only otherwise).
    const catalogCache = catalogReads({
      catalog: api.catalog,
      inventory: api.inventory,
      layers: backends.cacheLayers('catalog'),
      ttlMs: config.cacheTtlMs,
      clock,
    });
    reads = catalogCache;
    cleanup.push(() => catalogCache.close());
    const views = productViews({ db, counters: backends.counters });
    // Login attempts limited per client IP, then per account (girder/ratelimit).
    const guardedUsers = withRateLimit(
      withRateLimit(api.users, security.limiters.loginAccount, {
        key: (_m, args) => `account:${String(args[0]).trim().toLowerCase()}`,
        methods: ['authenticate'],
      }),
      security.limiters.loginIp,
      {
        key: (_m, args) => `ip:${(args[2] as LoginContext).ip}`,
        methods: ['authenticate'],
      },
    );
    const services: Services = {
      users: guardedUsers,
      catalog: api.catalog,
      inventory: api.inventory,
      orders: api.orders,
      payments: api.payments,
    };
    // SMS codes for login and phone linking, over the provider stack (girder/sms).
    const phones = api.phones;
    if (local) {
      await rpc?.serve({
        users: { users: local.users, phones: local.phones },
        catalog: local.catalog,
        inventory: local.inventory,
        orders: local.orders,
        payments: local.payments,
        notifications: local.notifications,
      });
    }
    const sms = await buildSms({
      config,
      // Untraced: the queue worker polls the table twice a second, which would fill every
      // trace with its own queries (and spans are about requests).
      db: database.db,
      logger,
      clock,
      rateLimitStore: backends.rateLimitStore,
    });
    cleanup.push(() => sms.close());

    // --- startup data ------------------------------------------------------------------
    const admin = await own.users.ensureAdmin(config.admin.email, config.admin.password);
    await security.authorizer.grant(admin.id, 'admin');
    if (config.seed && (await seedDemoData(own.catalog, own.inventory))) {
      logger.info('seeded demo catalog');
    }

    // --- background jobs: one leader (girder/jobs) runs the sweeps and the ranking -----
    const jobsView = jobsOps(clock, backends.locker); // before the first lock is taken
    cleanup.push(jobsView.stop);
    const jobs = await startJobs({
      clock,
      logger,
      locker: backends.locker,
      leaderTtlMs: config.leaderTtlMs,
      expiryIntervalMs: config.sweepIntervalMs,
      refundRetryIntervalMs: config.refundRetryIntervalMs,
      expireDue: () => own.orders.expireDue(),
      retryPendingRefunds: () => own.payments.retryPendingRefunds(),
      // Gateway mode: none here; the orders and payments instances schedule their own.
      sweeps: !gatewayMode,
    });
    cleanup.push(() => jobs.stop());
    const popular = popularRanking({
      orders: own.orders,
      catalog: own.catalog,
      election: jobs.election,
      layers: backends.cacheLayers('popular'),
      counters: backends.counters,
      everyMs: config.popularIntervalMs,
      clock,
    });
    cleanup.push(() => popular.close());
    // A new leader computes the ranking at once rather than after a whole period.
    const onElected = jobs.election.events.on('elected', () => {
      popular.job.refresh().catch(() => {}); // a failure is a `failed` event; the last ranking stays
    });
    cleanup.push(onElected);
    // --- messaging: outbox relay on the leader, order.paid consumers everywhere -------
    const started = await startMessaging({
      db: database.db,
      redisUrl: config.redisUrl,
      redisPrefix: config.redisPrefix,
      election: jobs.election,
      outboxPollMs: config.outboxPollMs,
      // Gateway mode: the outbox relay runs on the payments instances, the `orders` and
      // `notifications` groups on theirs; the gateway keeps its own `popular-sales`.
      ...(gatewayMode && { relay: false, groups: ['popular-sales'] as const }),
      sms: sms.stack,
      orders: api.orders,
      phones,
      sales: backends.counters,
      logger,
      clock,
    });
    messaging = started;
    cleanup.push(() => started.close());
    const mqView = mqOps(started.queue, started.outbox, started.consumers);
    cleanup.push(mqView.stop);
    const migrationView = migrationOps(migration, clock);
    cleanup.push(migrationView.stop);

    // --- metrics, HTTP, background jobs ----------------------------------------------------
    const { limiters } = security;
    // The services' own events (over gRPC the clients see none of them).
    const counters = shopCounters(registry, {
      ...services,
      orders: own.orders,
      payments: own.payments,
    });
    if (rpc) cleanup.push(watchRpc(registry, rpc));
    const watched = watchBlocks(
      registry,
      {
        limiters: [limiters.api, limiters.loginIp, limiters.loginAccount],
        breaker: payment.breaker,
        retry: payment.provider,
        budget: payment.budget,
        tokens: security.tokens,
        authorizer: security.authorizer,
        more: [
          backends.locker,
          jobs.election,
          ...jobs.jobs,
          catalogCache.cache,
          popular.cache,
          popular.job,
          backends.counters,
          // gRPC: the breakers, and the call events (client and server spans when tracing).
          ...(rpc ? [...Object.values(rpc.breakers), rpc.calls, rpc.served] : []),
        ],
      },
      tracing?.tracer,
    );
    cleanup.push(watched.unwatch);
    cleanup.push(sms.watch(watched.metrics));
    const transitions = transitionLog(clock);
    cleanup.push(transitions.watch(payment.breaker));
    const rpcBreakers = rpc ? Object.values(rpc.breakers) : [];
    for (const b of rpcBreakers) cleanup.push(transitions.watch(b));
    // Only what runs in this process: in gateway mode, the ranking (the sweeps run in the
    // orders and payments processes, each on its role's panel).
    jobsView.follow([jobs.election], jobs.jobs, [popular.job]);
    const ops = async () => ({
      ...(await opsSnapshot({
        registry,
        breakers: [payment.breaker, ...rpcBreakers],
        targets: [{ name: 'payment-provider', breaker: payment.breaker }],
        transitions,
      })),
      ...(await jobsView.snapshot(registry)),
      mq: await mqView.snapshot(),
      migration: await migrationView.snapshot(),
    });
    // Over gRPC, a request's bearer token goes with the service calls that carry its user,
    // and its client address with every call (the nodes' quota is per end client).
    if (rpc) {
      app.addHook('preHandler', (request, _reply, done) =>
        asCaller({ authorization: request.headers.authorization, client: request.ip }, done),
      );
    }
    await mountHttp(app, {
      context: {
        config,
        services,
        logger,
        counters,
        ops,
        clock,
        reads: catalogCache,
        views,
        popular,
      },
      database,
      backendsDescription: backends.description,
      security,
      payments: payment,
      registry,
      metrics: watched.metrics,
      tracer: tracing?.tracer,
      sms: { sms, phones, tokens: security.tokens },
    });
    if (migration) {
      await app.register(async (scope) =>
        migrationRoutes(scope, {
          control: migration.control,
          tokens: security.tokens,
          authorizer: security.authorizer,
        }),
      );
    }
    if (clusterView) {
      const { tokens, authorizer } = security;
      await app.register(async (scope) =>
        clusterRoutes(scope, { view: clusterView, control: cluster, tokens, authorizer }),
      );
    }
    // Registered last, so it runs first on close: stop taking requests, then the rest.
    cleanup.push(() => app.close());

    let closing: Promise<void> | undefined;
    return {
      app,
      config,
      services,
      mockProvider: payment.mock.control,
      sms,
      registry,
      tokens: security.tokens,
      authorizer: security.authorizer,
      paymentBreaker: payment.breaker,
      admin,
      describe: { database: database.description, backends: backends.description },
      async listen() {
        await app.listen({ port: config.port, host: config.host });
        return addresses.publicUrl();
      },
      url: addresses.publicUrl,
      jobs,
      popular,
      messaging: started,
      migration,
      rpc,
      mode: gatewayMode ? 'gateway' : 'one-process',
      runJobs: jobs.runOnce,
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
