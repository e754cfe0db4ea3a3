// HTTP server metrics named after the OTel HTTP semantic conventions:
// `http_server_request_duration_seconds` (method, route template, status code) with the
// conventions' advisory buckets, and `http_server_active_requests` (method).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyPluginCallback } from 'fastify';
import type { Gauge } from 'prom-client';
import { z } from 'zod';
import { functionSchema, parseOptions } from '../core/index.js';
import { gauge, histogram } from './families.js';
import type { CellHistogram, HistogramCell } from './histogram.js';
import { checkMetrics, type Metrics } from './metrics.js';

/**
 * The OTel advisory buckets of `http.server.request.duration`, seconds (the default of
 * {@link httpMetrics}).
 *
 * @example
 * ```ts
 * import { HTTP_DURATION_BUCKETS } from 'girder/observability';
 *
 * const buckets = [...HTTP_DURATION_BUCKETS, 30, 60]; // for long uploads
 * ```
 */
export const HTTP_DURATION_BUCKETS: readonly number[] = [
  0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
];

/**
 * Options of {@link httpMetrics} (the Fastify plugin).
 *
 * @example
 * ```ts
 * import { Registry } from 'prom-client';
 * import { type HttpMetricsOptions, metrics } from 'girder/observability';
 *
 * const options: HttpMetricsOptions = { metrics: metrics({ registry: new Registry() }) };
 * ```
 */
export interface HttpMetricsOptions {
  /** Where the series go: the object {@link metrics} returned (its registry and `constLabels`). */
  metrics: Metrics;
  /** Histogram buckets, seconds. Default {@link HTTP_DURATION_BUCKETS}. */
  buckets?: number[];
}

/**
 * Options of {@link httpMetricsMiddleware}.
 *
 * @example
 * ```ts
 * import { Registry } from 'prom-client';
 * import { type HttpMetricsMiddlewareOptions, metrics } from 'girder/observability';
 *
 * const options: HttpMetricsMiddlewareOptions = {
 *   metrics: metrics({ registry: new Registry() }),
 *   route: (req) => (req.url?.startsWith('/users/') ? '/users/:id' : 'unmatched'),
 * };
 * ```
 */
export interface HttpMetricsMiddlewareOptions extends HttpMetricsOptions {
  /**
   * The route template of a finished request (`/products/:id`), never the raw URL, so
   * the label's values stay few. Default: Express's `req.baseUrl + req.route.path` when
   * the router set them, else `unmatched`.
   */
  route?: (req: IncomingMessage) => string;
}

const bucketsSchema = z
  .array(z.number().finite().positive())
  .min(1)
  .refine((b) => b.every((v, i) => i === 0 || v > b[i - 1]!), 'must be increasing')
  .optional();

const pluginSchema = z.strictObject({
  metrics: z.custom<Metrics>((v) => {
    try {
      checkMetrics(v, 'metrics');
      return true;
    } catch {
      return false;
    }
  }, 'must be the object metrics() returns'),
  buckets: bucketsSchema,
});

const middlewareSchema = pluginSchema.extend({
  route: functionSchema<(req: IncomingMessage) => string>().optional(),
});

/** @internal The two HTTP series of one registry, and their fixed labels. */
interface Recorder {
  readonly duration: CellHistogram;
  readonly active: Gauge<string>;
  /** Duration cells by `method route status`. */
  readonly cells: Map<string, HistogramCell>;
  readonly base: Readonly<Record<string, string>>;
}

const CODES: Record<number, string> = {};
const codeOf = (status: number): string => (CODES[status] ??= String(status));

function recorder(m: Metrics, buckets: readonly number[] | undefined): Recorder {
  const base = m.constLabels;
  const names = Object.keys(base);
  return {
    base,
    cells: new Map(),
    duration: histogram(
      m.registry,
      'http_server_request_duration_seconds',
      'Duration of HTTP server requests, seconds.',
      [...names, 'http_request_method', 'http_route', 'http_response_status_code'],
      buckets ?? HTTP_DURATION_BUCKETS,
    ),
    active: gauge(m.registry, 'http_server_active_requests', 'HTTP server requests in flight.', [
      ...names,
      'http_request_method',
    ]),
  };
}

const METHODS = new Set([
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'DELETE',
  'CONNECT',
  'OPTIONS',
  'TRACE',
  'PATCH',
  'QUERY',
]);
// OTel: methods outside the known set are reported as _OTHER, so a client cannot grow the label.
const methodOf = (method: string | undefined): string =>
  method !== undefined && METHODS.has(method) ? method : '_OTHER';

function begin(r: Recorder, method: string): { method: string; startedAt: number } {
  r.active.inc({ ...r.base, http_request_method: method });
  return { method, startedAt: performance.now() };
}

function end(
  r: Recorder,
  started: { method: string; startedAt: number },
  route: string,
  status: number,
): void {
  const seconds = (performance.now() - started.startedAt) / 1000;
  r.active.dec({ ...r.base, http_request_method: started.method });
  const key = `${started.method} ${status} ${route}`;
  let cell = r.cells.get(key);
  if (cell === undefined) {
    cell = r.duration.cell({
      ...r.base,
      http_request_method: started.method,
      http_route: route,
      http_response_status_code: codeOf(status),
    });
    r.cells.set(key, cell);
  }
  r.duration.observe(cell, seconds);
}

const START = Symbol('girder.httpMetrics.start');

const plugin: FastifyPluginCallback<HttpMetricsOptions> = (app, options, done) => {
  let r: Recorder;
  try {
    const o = parseOptions('httpMetrics', pluginSchema, options);
    r = recorder(o.metrics, o.buckets);
  } catch (error) {
    done(error as Error);
    return;
  }
  app.addHook('onRequest', (request, _reply, next) => {
    (request as unknown as Record<symbol, unknown>)[START] = begin(r, methodOf(request.method));
    next();
  });
  app.addHook('onResponse', (request, reply, next) => {
    const started = (request as unknown as Record<symbol, ReturnType<typeof begin> | undefined>)[
      START
    ];
    if (started !== undefined) {
      end(r, started, request.routeOptions.url ?? 'unmatched', reply.statusCode);
    }
    next();
  });
  done();
};

// What fastify-plugin would set: skip encapsulation so the hooks see every route of the
// scope that registers the plugin.
Object.assign(plugin, {
  [Symbol.for('skip-override')]: true,
  [Symbol.for('fastify.display-name')]: 'girder-http-metrics',
  [Symbol.for('plugin-meta')]: { name: 'girder-http-metrics', fastify: '>=4' },
});

/**
 * Fastify plugin recording `http_server_request_duration_seconds` (labels
 * `http_request_method`, `http_route` — the route template, `unmatched` for 404s
 * without a route — and `http_response_status_code`) and `http_server_active_requests`
 * into the registry of `metrics`. Registered on the root instance it covers every route.
 * Fastify is not imported at runtime.
 *
 * @example
 * ```ts
 * import Fastify from 'fastify';
 * import { Registry } from 'prom-client';
 * import { httpMetrics, metrics } from 'girder/observability';
 *
 * const registry = new Registry();
 * const app = Fastify();
 * await app.register(httpMetrics, { metrics: metrics({ registry }) });
 * app.get('/metrics', async (_req, reply) =>
 *   reply.type(registry.contentType).send(await registry.metrics()),
 * );
 * ```
 */
export const httpMetrics: FastifyPluginCallback<HttpMetricsOptions> = plugin;

const defaultRoute = (req: IncomingMessage): string => {
  const r = req as IncomingMessage & { baseUrl?: string; route?: { path?: unknown } };
  const path = r.route?.path;
  return typeof path === 'string' ? `${r.baseUrl ?? ''}${path}` : 'unmatched';
};

/**
 * Node `(req, res, next)` middleware (Express, Connect, plain `http`) recording the same
 * series as {@link httpMetrics}. The route label comes from `route(req)` when the
 * response finishes (or the connection closes first), never from the raw URL.
 *
 * @throws InvalidOptionsError naming each bad option.
 *
 * @example
 * ```ts
 * import express from 'express';
 * import { Registry } from 'prom-client';
 * import { httpMetricsMiddleware, metrics } from 'girder/observability';
 *
 * const app = express();
 * app.use(httpMetricsMiddleware({ metrics: metrics({ registry: new Registry() }) }));
 * ```
 */
export function httpMetricsMiddleware(
  options: HttpMetricsMiddlewareOptions,
): (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void {
  const o = parseOptions('httpMetricsMiddleware', middlewareSchema, options);
  const r = recorder(o.metrics, o.buckets);
  const route = o.route ?? defaultRoute;
  return (req, res, next) => {
    const started = begin(r, methodOf(req.method));
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      res.off('finish', finish);
      res.off('close', finish);
      let template: string;
      try {
        template = route(req);
      } catch {
        template = 'unmatched';
      }
      end(r, started, typeof template === 'string' ? template : 'unmatched', res.statusCode);
    };
    res.on('finish', finish);
    res.on('close', finish);
    next();
  };
}
