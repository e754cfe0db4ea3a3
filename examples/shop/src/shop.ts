// The composition root: opens the database and girder backends, builds the services,
// wraps them with girder blocks and mounts the HTTP API, the mock payment provider and
// the web UI on one Fastify app.
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { type Breaker, circuitBreaker, consecutiveFailures } from 'girder/breaker';
import { type Clock, systemClock, TypedEmitter } from 'girder/core';
import { type RetryEvents, retryBudget } from 'girder/failover';
import { fastifyAuth, rateLimitPlugin } from 'girder/http';
import { type Authorizer, authorizer, type TokenService, tokenService } from 'girder/jwt';
import { consoleLogger, type Logger, logError } from 'girder/logger';
import { type RateLimiter, rateLimited, slidingWindow } from 'girder/ratelimit';
import { sql } from 'kysely';
import { openBackends } from './backends.js';
import { catalogService } from './catalog/service.js';
import type { ShopConfig } from './config.js';
import { type OpenDatabase, openDatabase } from './db/database.js';
import type { RouteContext, Services } from './http/context.js';
import { errorBody, installErrorHandling } from './http/errors.js';
import { accountRoutes } from './http/routes/account.js';
import { adminRoutes } from './http/routes/admin.js';
import { callbackPlugin } from './http/routes/payment-callback.js';
import { publicRoutes } from './http/routes/public.js';
import { loginBody } from './http/schemas.js';
import { staticRoutes } from './http/static.js';
import { parse } from './http/validation.js';
import { inventoryService } from './inventory/service.js';
import { METRICS_CONTENT_TYPE, MetricsRegistry } from './metrics.js';
import { type MockProviderControl, mockPaymentProvider } from './mock-provider/plugin.js';
import { ordersService } from './orders/service.js';
import { httpPaymentProvider, isClientError, resilientProvider } from './payments/provider.js';
import { paymentsService } from './payments/service.js';
import { seedDemoData } from './seed.js';
import type { LoginContext, User } from './users/service.js';
import { usersService } from './users/service.js';

/** Things tests (and embedders) may supply instead of the defaults. */
export interface ShopOptions {
  /** Time for order deadlines, the expiry job, callback timestamps and the payment breaker. Default `systemClock`. */
  clock?: Clock;
  /** Where logs go. Default a console logger per `LOG_LEVEL` / `LOG_FORMAT`. */
  logger?: Logger;
  /** An already opened (and migrated) database; `close()` closes it. Default: open `config.database`. */
  database?: OpenDatabase;
}

export interface Shop {
  readonly app: FastifyInstance;
  readonly config: ShopConfig;
  readonly services: Services;
  readonly mockProvider: MockProviderControl;
  readonly metrics: MetricsRegistry;
  readonly tokens: TokenService;
  readonly authorizer: Authorizer;
  /** The breaker in front of the payment provider. */
  readonly paymentBreaker: Breaker;
  /** The admin account. */
  readonly admin: User;
  /** What the shop runs on, for the startup banner. */
  readonly describe: { database: string; backends: string };
  /** Start listening on `config.port` / `config.host`; resolves the public URL. */
  listen(): Promise<string>;
  /** Base URL for browsers (after `listen`). */
  url(): string;
  /** Run the background jobs once now: expire overdue orders, retry failed refunds. */
  runJobs(): Promise<{ expired: number; refunded: number }>;
  /** Stop the jobs, the server and every connection. */
  close(): Promise<void>;
}

const LOOPBACK_OR_ANY = new Set(['127.0.0.1', '::1', 'localhost', '0.0.0.0', '::']);

export async function createShop(config: ShopConfig, options: ShopOptions = {}): Promise<Shop> {
  const clock = options.clock ?? systemClock;
  const logger =
    options.logger ?? consoleLogger({ level: config.logLevel, format: config.logFormat });
  const metrics = new MetricsRegistry();
  const cleanup: Array<() => Promise<void> | void> = [];
  const closeAll = async () => {
    for (const step of cleanup.reverse()) await Promise.resolve(step()).catch(() => {});
  };

  try {
    // --- storage -------------------------------------------------------------------
    const database = options.database ?? (await openDatabase(config.database));
    cleanup.push(() => database.close());
    const { db } = database;
    const backends = await openBackends(config.redisUrl, config.redisPrefix);
    cleanup.push(() => backends.close());

    // --- the app and where it is reachable ---------------------------------------------
    const app = Fastify({
      logger: false,
      bodyLimit: 64 * 1024,
      forceCloseConnections: true,
      trustProxy: config.trustProxy,
    });
    const address = () => {
      const a = app.server.address() as AddressInfo | null;
      if (!a || typeof a !== 'object') throw new Error('the shop is not listening yet');
      return a;
    };
    /** How this process reaches itself (server-to-server calls). */
    const internalUrl = () => {
      const a = address();
      const host =
        a.address === '0.0.0.0'
          ? '127.0.0.1'
          : a.address === '::'
            ? '[::1]'
            : a.family === 'IPv6'
              ? `[${a.address}]`
              : a.address;
      return `http://${host}:${a.port}`;
    };
    /** How browsers reach the shop. */
    const publicUrl = () => {
      if (config.publicUrl) return config.publicUrl;
      const host = LOOPBACK_OR_ANY.has(config.host) ? 'localhost' : config.host;
      return `http://${host}:${address().port}`;
    };

    if (config.redisUrl !== undefined && config.jwtSecret === undefined) {
      logger.warn(
        'SHOP_JWT_SECRET is not set: this instance signs tokens with its own random key, so other instances sharing REDIS_URL will refuse them',
      );
    }

    // --- girder: tokens, authorization, rate limits --------------------------------
    const tokens = tokenService({
      keys: [{ kid: 'shop-1', alg: 'HS256', key: config.jwtSecret ?? randomBytes(32) }],
      sessionStore: backends.sessionStore,
      accessTtl: 15 * 60_000,
      refreshTtl: 7 * 24 * 3_600_000,
      issuer: 'girder-shop',
    });
    const authz = authorizer({
      store: backends.policyStore,
      defaultRoles: ['user'],
      rules: {
        roles: {
          user: [
            { actions: ['GET'], resource: '/api/users/profile' },
            { actions: ['POST'], resource: '/api/users/logout' },
            { actions: ['GET', 'POST'], resource: '/api/orders/**' },
          ],
          admin: [{ resource: '/api/admin/**' }],
        },
      },
    });
    cleanup.push(() => authz.close());
    await authz.ready();

    const limiter = (name: string, quota: { limit: number; windowMs: number }) =>
      slidingWindow({ ...quota, name, store: backends.rateLimitStore });
    const apiLimiter = limiter('shop-api', config.apiRateLimit);
    const loginIpLimiter = limiter('shop-login-ip', config.loginLimitPerIp);
    const loginAccountLimiter = limiter('shop-login-account', config.loginLimitPerAccount);

    // --- services --------------------------------------------------------------------
    const users = usersService({ db, hashCost: config.passwordHashCost });
    const catalog = catalogService({ db });
    const inventory = inventoryService({ db });
    const orders = ordersService({
      db,
      catalog,
      inventory,
      paymentTimeoutMs: config.orderTimeoutMs,
      clock,
    });

    // The payment provider: the built-in mock unless configured, reached over HTTP
    // through retry (girder/failover) around a circuit breaker (girder/breaker).
    const paymentSecret = config.paymentSecret ?? randomBytes(24).toString('base64url');
    const providerApiKey = randomBytes(16).toString('base64url');
    const mock = mockPaymentProvider({
      secret: paymentSecret,
      apiKey: providerApiKey,
      baseUrl: () => `${publicUrl()}/mock-pay`,
      now: () => clock.now(),
    });
    const paymentBreaker = circuitBreaker({
      name: 'payment-provider',
      policy: consecutiveFailures({ threshold: 5 }),
      openMs: 10_000,
      clock,
      isFailure: (err) => !isClientError(err),
    });
    const retryEvents = new TypedEmitter<RetryEvents>();
    const provider = resilientProvider(
      httpPaymentProvider({
        baseUrl: () => config.paymentProviderUrl ?? `${internalUrl()}/mock-pay`,
        apiKey: providerApiKey,
      }),
      {
        breaker: paymentBreaker,
        attempts: 3,
        budget: retryBudget({ ratio: 0.2, minPerSec: 5 }),
        events: retryEvents,
      },
    );
    const payments = paymentsService({
      db,
      orders,
      provider,
      clock,
      callbackBaseUrl: () => (config.publicUrl ? publicUrl() : internalUrl()),
      returnBaseUrl: publicUrl,
    });

    // Login attempts limited per client IP, then per account (girder/ratelimit).
    const guardedUsers = rateLimited(
      rateLimited(users, {
        limiter: loginAccountLimiter,
        key: (_m, args) => `account:${String(args[0]).trim().toLowerCase()}`,
        methods: ['authenticate'],
      }),
      {
        limiter: loginIpLimiter,
        key: (_m, args) => `ip:${(args[2] as LoginContext).ip}`,
        methods: ['authenticate'],
      },
    );
    const services: Services = { users: guardedUsers, catalog, inventory, orders, payments };

    // --- startup data ------------------------------------------------------------------
    const admin = await users.ensureAdmin(config.admin.email, config.admin.password);
    await authz.grant(admin.id, 'admin');
    if (config.seed && (await seedDemoData(catalog, inventory))) {
      logger.info('seeded demo catalog');
    }

    // --- metrics from girder events and shop counters ------------------------------------
    wireMetrics(metrics, {
      limiters: [apiLimiter, loginIpLimiter, loginAccountLimiter],
      breaker: paymentBreaker,
      retryEvents,
      tokens,
      services,
    });

    // --- HTTP ------------------------------------------------------------------------
    installErrorHandling(app, logger);
    const requests = metrics.counter('http_requests_total', 'HTTP requests by route and status.');
    const latency = metrics.histogram(
      'http_request_duration_seconds',
      'HTTP request latency by route.',
      [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    );
    app.addHook('onResponse', async (request, reply) => {
      const route = request.routeOptions.url ?? 'unmatched';
      const seconds = reply.elapsedTime / 1000;
      requests.inc({ method: request.method, route, status: reply.statusCode });
      latency.observe(seconds, { method: request.method, route });
      // Access log (girder/logger): one line per request, tokens never included.
      logger.info('request', {
        reqId: request.id,
        method: request.method,
        path: request.url.split('?', 1)[0],
        route,
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime * 10) / 10,
        ip: request.ip,
        ...(request.auth && { user: request.auth.sub }),
      });
    });

    app.get('/healthz', async (_request, reply) => {
      try {
        await sql`select 1`.execute(db);
        return { status: 'ok', database: database.description, backends: backends.description };
      } catch {
        return reply.code(503).send(errorBody(503, 'UNHEALTHY', 'the database does not answer'));
      }
    });
    app.get('/metrics', async (_request, reply) =>
      reply.type(METRICS_CONTENT_TYPE).send(metrics.render()),
    );
    await app.register(staticRoutes);
    await app.register(mock.plugin, { prefix: '/mock-pay' });

    const context: RouteContext = { config, services, logger, metrics, clock };
    const authRejections = metrics.counter(
      'shop_auth_rejections_total',
      'Requests refused by the auth plugin, by girder/jwt error code.',
    );
    await app.register(async (api) => {
      // Every /api route: per-IP quota (girder/http + girder/ratelimit), 429 beyond it.
      await api.register(rateLimitPlugin, { limiter: apiLimiter, key: 'ip', policyName: 'api' });
      await api.register(async (open) => publicRoutes(open, context));
      await api.register(callbackPlugin(context, paymentSecret));
      await api.register(async (secured) => {
        // Tokens and roles (girder/http + girder/jwt): every route in this scope needs
        // a valid access token, and the authorizer's rules for its path.
        await secured.register(fastifyAuth, {
          tokens,
          authorizer: authz,
          onReject: (error) => {
            authRejections.inc({ code: error.code });
            logger.debug('request refused by auth', { code: error.code });
          },
          routes: {
            login: {
              path: '/api/users/login',
              authenticate: async (request) => {
                const { email, password } = parse(loginBody, request.body, 'login');
                const user = await guardedUsers.authenticate(email, password, { ip: request.ip });
                return user ? { subject: user.id, claims: { role: user.role } } : null;
              },
            },
            refresh: { path: '/api/users/refresh' },
            logout: { path: '/api/users/logout' },
          },
        });
        await accountRoutes(secured, context);
        await adminRoutes(secured, context);
      });
    });

    // --- background jobs -----------------------------------------------------------------
    let stopped = false;
    let timer: ReturnType<Clock['setTimeout']> | undefined;
    let running: Promise<unknown> | undefined;
    const runJobs = async () => ({
      expired: await orders.expireDue(),
      refunded: await payments.retryPendingRefunds(),
    });
    const schedule = () => {
      timer = clock.setTimeout(() => {
        running = runJobs()
          .catch((err) => logError(logger, err, 'background job failed'))
          .finally(() => {
            running = undefined;
            if (!stopped) schedule();
          });
      }, config.sweepIntervalMs);
    };
    schedule();
    cleanup.push(async () => {
      stopped = true;
      if (timer !== undefined) clock.clearTimeout(timer);
      await running;
    });
    // Registered last, so it runs first on close: stop taking requests, then the rest.
    cleanup.push(() => app.close());

    let closing: Promise<void> | undefined;
    return {
      app,
      config,
      services,
      mockProvider: mock.control,
      metrics,
      tokens,
      authorizer: authz,
      paymentBreaker,
      admin,
      describe: { database: database.description, backends: backends.description },
      async listen() {
        await app.listen({ port: config.port, host: config.host });
        return publicUrl();
      },
      url: publicUrl,
      runJobs,
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

function wireMetrics(
  metrics: MetricsRegistry,
  sources: {
    limiters: RateLimiter[];
    breaker: Breaker;
    retryEvents: TypedEmitter<RetryEvents>;
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
