// The HTTP surface: access log and request metrics, health and metrics endpoints, the
// web UI, the mock provider, and the /api scopes with their rate limit and auth.
import type { FastifyInstance } from 'fastify';
import { fastifyAuth, rateLimitPlugin } from 'girder/http';
import { sql } from 'kysely';
import type { OpenDatabase } from '../db/database.js';
import type { RouteContext } from '../http/context.js';
import { errorBody, installErrorHandling } from '../http/errors.js';
import { accountRoutes } from '../http/routes/account.js';
import { adminRoutes } from '../http/routes/admin.js';
import { callbackPlugin } from '../http/routes/payment-callback.js';
import { publicRoutes } from '../http/routes/public.js';
import { loginBody } from '../http/schemas.js';
import { staticRoutes } from '../http/static.js';
import { parse } from '../http/validation.js';
import { METRICS_CONTENT_TYPE } from '../metrics.js';
import type { PaymentWiring } from './payments.js';
import type { Security } from './security.js';

export async function mountHttp(
  app: FastifyInstance,
  parts: {
    context: RouteContext;
    database: OpenDatabase;
    backendsDescription: string;
    security: Security;
    payments: PaymentWiring;
  },
): Promise<void> {
  const { context, database, security, payments } = parts;
  const { metrics, logger, services } = context;
  installErrorHandling(app, logger);
  accessLog(app, context);

  app.get('/healthz', async (_request, reply) => {
    try {
      await sql`select 1`.execute(database.db);
      return {
        status: 'ok',
        database: database.description,
        backends: parts.backendsDescription,
      };
    } catch {
      return reply.code(503).send(errorBody(503, 'UNHEALTHY', 'the database does not answer'));
    }
  });
  app.get('/metrics', async (_request, reply) =>
    reply.type(METRICS_CONTENT_TYPE).send(metrics.render()),
  );
  await app.register(staticRoutes);
  await app.register(payments.mock.plugin, { prefix: '/mock-pay' });

  const authRejections = metrics.counter(
    'shop_auth_rejections_total',
    'Requests refused by the auth plugin, by girder/jwt error code.',
  );
  await app.register(async (api) => {
    // Every /api route: per-IP quota (girder/http + girder/ratelimit), 429 beyond it.
    await api.register(rateLimitPlugin, {
      limiter: security.limiters.api,
      key: 'ip',
      policyName: 'api',
    });
    await api.register(async (open) => publicRoutes(open, context));
    await api.register(callbackPlugin(context, payments.secret));
    await api.register(async (secured) => {
      // Tokens and roles (girder/http + girder/jwt): every route in this scope needs
      // a valid access token, and the authorizer's rules for its path.
      await secured.register(fastifyAuth, {
        tokens: security.tokens,
        authorizer: security.authorizer,
        onReject: (error) => {
          authRejections.inc({ code: error.code });
          logger.debug('request refused by auth', { code: error.code });
        },
        routes: {
          login: {
            path: '/api/users/login',
            authenticate: async (request) => {
              const { email, password } = parse(loginBody, request.body, 'login');
              const user = await services.users.authenticate(email, password, {
                ip: request.ip,
              });
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
}

/** Request counters, a latency histogram and one access-log line per request. */
function accessLog(app: FastifyInstance, { metrics, logger }: RouteContext): void {
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
}
