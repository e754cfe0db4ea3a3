import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyPluginCallback, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { InvalidOptionsError } from '../core/index.js';
import type { RateLimiter } from '../ratelimit/index.js';
import {
  checkCostFitsLimiter,
  defaultErrorBody,
  type HttpRateLimitOptions,
  httpFields,
  judge,
  type RequestFacts,
  type ResolvedHttpOptions,
  rateLimitHeaders,
  releaseOf,
  resolveOptions,
  retryAfterSeconds,
  userOf,
} from './ratelimit-shared.js';

export {
  type HttpRateLimitOptions,
  type RateLimitHeaderValues,
  type RateLimitKey,
  rateLimitHeaders,
} from './ratelimit-shared.js';

/** Per-route settings in a Fastify route's `config.rateLimit`. */
export type RouteRateLimitConfig = Partial<HttpRateLimitOptions<FastifyRequest>>;

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * `false` exempts the route from `rateLimitPlugin`; an object limits it with these
     * settings (merged over the plugin's), counting separately for this route.
     */
    rateLimit?: RouteRateLimitConfig | false;
  }
}

/** Options of {@link rateLimitPlugin}. */
export interface RateLimitPluginOptions
  extends Omit<HttpRateLimitOptions<FastifyRequest>, 'limiter'> {
  /**
   * The limiter for every route. Optional when `global` is false and each limited
   * route brings its own in `config.rateLimit.limiter`.
   */
  limiter?: RateLimiter;
  /**
   * Limit every route (and unmatched URLs) with the plugin's settings. When false, only
   * routes with a `config.rateLimit` object are limited. Default true.
   */
  global?: boolean;
}

const pluginSchema = z
  .strictObject({
    ...httpFields,
    limiter: httpFields.limiter.optional(),
    global: z.boolean().default(true),
  })
  .superRefine(checkCostFitsLimiter);
const routeSchema = z.strictObject(httpFields).superRefine(checkCostFitsLimiter);

interface RouteSettings {
  options: ResolvedHttpOptions<FastifyRequest>;
  /** Per-route configs count separately per route. */
  prefix: string;
}

/** Requests of each route context, resolved once. */
const NONE = Symbol('no rate limit');

function plugin(
  fastify: Parameters<FastifyPluginCallback<RateLimitPluginOptions>>[0],
  rawOptions: RateLimitPluginOptions,
  done: (error?: Error) => void,
): void {
  try {
    register(fastify, rawOptions);
  } catch (error) {
    done(error as Error);
    return;
  }
  done();
}

function register(
  fastify: Parameters<FastifyPluginCallback<RateLimitPluginOptions>>[0],
  rawOptions: RateLimitPluginOptions,
): void {
  const { global, ...base } = resolveOptions<FastifyRequest>(
    'rateLimitPlugin',
    pluginSchema,
    rawOptions,
  ) as ResolvedHttpOptions<FastifyRequest> & { global: boolean };
  if (global && base.limiter === undefined) {
    throw new InvalidOptionsError('rateLimitPlugin', [
      { path: 'limiter', message: 'is required unless global is false' },
    ]);
  }
  const merged = (config: RouteRateLimitConfig): ResolvedHttpOptions<FastifyRequest> => {
    if (config === null || typeof config !== 'object' || Array.isArray(config)) {
      throw new InvalidOptionsError('rateLimit route config', [
        { path: '', message: 'must be false or an object of rate-limit settings' },
      ]);
    }
    const options = { ...base, ...config };
    if (options.limiter === undefined) {
      throw new InvalidOptionsError('rateLimit route config', [
        { path: 'limiter', message: 'is required: the plugin has no limiter' },
      ]);
    }
    return resolveOptions('rateLimit route config', routeSchema, options);
  };

  // Validate route configs as routes are declared, so mistakes fail at startup.
  fastify.addHook('onRoute', (route) => {
    const config = route.config?.rateLimit;
    if (config !== undefined && config !== false) merged(config as RouteRateLimitConfig);
  });

  const cache = new WeakMap<object, RouteSettings | typeof NONE>();
  const settingsFor = (request: FastifyRequest): RouteSettings | typeof NONE => {
    const config = request.routeOptions.config as { rateLimit?: RouteRateLimitConfig | false };
    let settings = cache.get(config);
    if (settings === undefined) {
      const route = config.rateLimit;
      if (route === false || (route === undefined && !global)) settings = NONE;
      else if (route === undefined) settings = { options: base, prefix: '' };
      else {
        const url = request.routeOptions.url ?? '';
        settings = { options: merged(route), prefix: `${request.method} ${url}|` };
      }
      cache.set(config, settings);
    }
    return settings;
  };

  fastify.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    const settings = settingsFor(request);
    if (settings === NONE) return;
    const { options, prefix } = settings;
    const facts: RequestFacts<FastifyRequest> = {
      request,
      ip: request.ip,
      method: request.method,
      route: request.routeOptions.url ?? request.url.split('?', 1)[0]!,
      user: userOf(request),
    };
    const { decision } = await judge(options, facts, prefix);
    if (decision === undefined) return;
    if (options.headers)
      reply.headers(rateLimitHeaders(options.limiter, decision, options.policyName));
    if (!decision.allowed) {
      reply
        .code(429)
        .header('Retry-After', retryAfterSeconds(decision))
        .send(
          options.errorBody ? options.errorBody(decision, request) : defaultErrorBody(decision),
        );
      return reply;
    }
    const release = releaseOf(decision);
    if (release !== undefined) reply.raw.once('close', () => void release());
  });
}

// What fastify-plugin would set: skip encapsulation so the hooks apply to the routes of
// the scope that registers the plugin (global when registered on the root instance).
Object.assign(plugin, {
  [Symbol.for('skip-override')]: true,
  [Symbol.for('fastify.display-name')]: 'girder-rate-limit',
  [Symbol.for('plugin-meta')]: { name: 'girder-rate-limit', fastify: '>=4' },
});

/**
 * Fastify plugin: rate limit every route (or only those with `config.rateLimit`), keyed
 * by IP, user, route or your function, with an allow-list. Denied requests get a 429
 * with `Retry-After`; limited responses carry the IETF `RateLimit-Policy` and
 * `RateLimit` headers. Registered on the root instance it applies to all routes (it
 * skips Fastify's encapsulation, like `fastify-plugin`). Concurrency limiters hold
 * their slot until the response closes; leaky buckets delay the request to its turn.
 *
 * Fastify is not imported at runtime; only its types are used.
 *
 * @example
 * ```ts
 * import Fastify from 'fastify';
 * import { rateLimitPlugin } from 'girder/http';
 * import { fixedWindow, slidingWindowLog } from 'girder/ratelimit';
 *
 * const app = Fastify();
 * await app.register(rateLimitPlugin, {
 *   limiter: fixedWindow({ limit: 100, windowMs: 60_000 }),
 *   allowList: ['127.0.0.1'],
 * });
 * app.post('/login', {
 *   config: { rateLimit: { limiter: slidingWindowLog({ limit: 5, windowMs: 60_000 }) } },
 *   handler: async () => ({ ok: true }),
 * });
 * app.get('/health', { config: { rateLimit: false } }, async () => 'ok');
 * ```
 */
export const rateLimitPlugin = plugin as unknown as FastifyPluginCallback<RateLimitPluginOptions>;

/** A request as Node's `http` (or Express, which adds `ip`) hands it to middleware. */
export type NodeRequest = IncomingMessage & {
  /** The client address Express computed (honouring `trust proxy`), if any. */
  ip?: string | undefined;
};

/** Options of {@link rateLimitMiddleware}. */
export interface RateLimitMiddlewareOptions<Req extends NodeRequest = NodeRequest>
  extends HttpRateLimitOptions<Req> {
  /**
   * The client address. Default: `req.ip` (Express, honouring its `trust proxy`
   * setting), else the socket's remote address.
   */
  ip?: (request: Req) => string;
}

const middlewareSchema = z
  .strictObject({
    ...httpFields,
    ip: z
      .custom<(r: unknown) => string>((v) => typeof v === 'function', {
        message: 'must be a function',
      })
      .optional(),
  })
  .superRefine(checkCostFitsLimiter);

/**
 * Node `(req, res, next)` middleware (Express, Connect, plain `http`): the same
 * limiting, headers and 429 responses as {@link rateLimitPlugin}. `route` keys use the
 * request path (middleware runs before routing). Errors from the limiter (for example
 * `STORE_CLOSED`) are passed to `next(error)`.
 *
 * @example
 * ```ts
 * import express from 'express';
 * import { rateLimitMiddleware } from 'girder/http';
 * import { tokenBucket } from 'girder/ratelimit';
 *
 * const app = express();
 * app.use(rateLimitMiddleware({ limiter: tokenBucket({ capacity: 20, refillPerSec: 5 }) }));
 * ```
 */
export function rateLimitMiddleware<Req extends NodeRequest = NodeRequest>(
  options: RateLimitMiddlewareOptions<Req>,
): (request: Req, response: ServerResponse, next: (error?: unknown) => void) => void {
  const { ip, ...resolved } = resolveOptions<Req>(
    'rateLimitMiddleware',
    middlewareSchema,
    options,
  ) as ResolvedHttpOptions<Req> & { ip?: (request: Req) => string };
  const ipOf = ip ?? ((request: Req) => request.ip ?? request.socket.remoteAddress ?? 'unknown');

  const handle = async (request: Req, response: ServerResponse): Promise<boolean> => {
    const facts: RequestFacts<Req> = {
      request,
      ip: ipOf(request),
      method: request.method ?? 'GET',
      route: (request.url ?? '/').split('?', 1)[0]!,
      user: userOf(request),
    };
    const { decision } = await judge(resolved, facts);
    if (decision === undefined) return true;
    if (resolved.headers) {
      for (const [name, value] of Object.entries(
        rateLimitHeaders(resolved.limiter, decision, resolved.policyName),
      )) {
        response.setHeader(name, value);
      }
    }
    if (!decision.allowed) {
      const body = resolved.errorBody
        ? resolved.errorBody(decision, request)
        : defaultErrorBody(decision);
      response.statusCode = 429;
      response.setHeader('Retry-After', retryAfterSeconds(decision));
      response.setHeader('Content-Type', 'application/json; charset=utf-8');
      response.end(JSON.stringify(body));
      return false;
    }
    const release = releaseOf(decision);
    if (release !== undefined) response.once('close', () => void release());
    return true;
  };

  return (request, response, next) => {
    handle(request, response).then(
      (proceed) => {
        if (proceed) next();
      },
      (error: unknown) => next(error),
    );
  };
}
