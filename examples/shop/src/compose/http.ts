// The HTTP surface: request spans and metrics, access log, health and metrics endpoints,
// the web UI, the mock provider, and the /api scopes with their rate limit and auth.
import type { Tracer } from '@opentelemetry/api';
import type { FastifyInstance } from 'fastify';
import { fastifyAuth, rateLimitPlugin } from 'girder/http';
import { httpMetrics } from 'girder/observability';
import { sql } from 'kysely';
import type { Registry } from 'prom-client';
import type { OpenDatabase } from '../db/database.js';
import type { RouteContext } from '../http/context.js';
import { errorBody, installErrorHandling } from '../http/errors.js';
import { accountRoutes } from '../http/routes/account.js';
import { adminRoutes } from '../http/routes/admin.js';
import { opsRoutes } from '../http/routes/ops.js';
import { callbackPlugin } from '../http/routes/payment-callback.js';
import { publicRoutes } from '../http/routes/public.js';
import {
  type SmsRouteParts,
  smsAccountRoutes,
  smsAdminRoutes,
  smsLoginRoutes,
} from '../http/routes/sms.js';
import { loginBody } from '../http/schemas.js';
import { staticRoutes } from '../http/static.js';
import { parse } from '../http/validation.js';
import { traceRequests } from '../observe/trace-http.js';
import type { BlockMetrics } from '../observe/watch.js';
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
    /** prom-client registry behind `/metrics`. */
    registry: Registry;
    /** girder/observability handle for the request metrics. */
    metrics: BlockMetrics;
    /** When tracing is on. */
    tracer: Tracer | undefined;
    /** SMS login, phone linking and the provider switch (girder/sms). */
    sms?: SmsRouteParts;
  },
): Promise<void> {
  const { context, database, security, payments, registry } = parts;
  const { counters, logger, services } = context;
  if (parts.tracer) traceRequests(app, parts.tracer);
  installErrorHandling(app, logger);
  // Request duration by method, route template and status, and requests in flight.
  await app.register(httpMetrics, { metrics: parts.metrics });
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
    reply.type(registry.contentType).send(await registry.metrics()),
  );
  await app.register(staticRoutes);
  await app.register(payments.mock.plugin, { prefix: '/mock-pay' });

  await app.register(async (api) => {
    // Every /api route: per-IP quota (girder/http + girder/ratelimit), 429 beyond it.
    await api.register(rateLimitPlugin, {
      limiter: security.limiters.api,
      key: 'ip',
      policyName: 'api',
    });
    await api.register(async (open) => publicRoutes(open, context));
    const { sms } = parts;
    if (sms) await api.register(async (open) => smsLoginRoutes(open, context, sms));
    await api.register(callbackPlugin(context, payments.secret));
    await api.register(async (secured) => {
      // Tokens and roles (girder/http + girder/jwt): every route in this scope needs
      // a valid access token, and the authorizer's rules for its path.
      await secured.register(fastifyAuth, {
        tokens: security.tokens,
        authorizer: security.authorizer,
        onReject: (error) => {
          counters.authRejections.inc({ code: error.code });
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
      // The ops feed gains the SMS section (queue, retries, dead jobs, sends by provider).
      const opsContext = sms
        ? { ...context, ops: async () => ({ ...(await context.ops()), sms: await sms.sms.ops() }) }
        : context;
      await opsRoutes(secured, opsContext);
      if (sms) {
        await smsAccountRoutes(secured, sms);
        await smsAdminRoutes(secured, sms);
      }
    });
  });
}

/** One access-log line per request. */
function accessLog(app: FastifyInstance, { logger }: RouteContext): void {
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
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
