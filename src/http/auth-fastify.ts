import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { parseOptions } from '../core/index.js';
import {
  type AccessClaims,
  AuthError,
  LoginFailedError,
  TokenMissingError,
  type TokenPair,
} from '../jwt/index.js';
import { type AuthOptions, type AuthRequestInfo, authGuard, fn, guardShape } from './auth-guard.js';
import { matchedPath } from './auth-path.js';
import { authErrorResponse, refreshTokenOf, tokenBody, tokenHeaders } from './auth-tokens.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The verified access-token claims; `null` on public paths. Set by `fastifyAuth`. */
    auth: AccessClaims | null;
  }
  interface FastifyContextConfig {
    /** `false` makes the route public for `fastifyAuth` (like a `publicPaths` entry). */
    auth?: boolean;
  }
}

/** Who a login request proved to be, from your `authenticate` callback. */
export interface LoginIdentity {
  /** The subject to issue tokens for (a user id). */
  subject: string;
  /** Claims to put in the tokens. */
  claims?: Record<string, unknown>;
}

/** Where a helper route is mounted. */
export interface AuthRouteOptions {
  /** The route's path. */
  path?: string;
}

/** Route helpers {@link fastifyAuth} can register. */
export interface AuthRoutes {
  /**
   * `POST` login route: `authenticate` checks the credentials (your code) and returns
   * who they belong to, or `null` (answered 401). Public. Default path `/auth/login`.
   */
  login?: AuthRouteOptions & {
    /** Check the request's credentials. */
    authenticate: (request: FastifyRequest) => Promise<LoginIdentity | null | undefined>;
  };
  /** `POST` refresh route (the refresh token in `x-refresh-token`, the body or `Authorization`). Public. `true` = default path `/auth/refresh`. */
  refresh?: true | AuthRouteOptions;
  /** `POST` logout route: ends the caller's session, or all its sessions with body `{"all": true}`; 204. `true` = default path `/auth/logout`. */
  logout?: true | AuthRouteOptions;
}

/** Options of {@link fastifyAuth}. */
export interface FastifyAuthOptions extends AuthOptions {
  /** Login / refresh / logout routes to register. Default none. */
  routes?: AuthRoutes;
  /**
   * Prefix of the helper `routes` (Fastify's register option; the plugin is not
   * encapsulated, so Fastify itself would ignore it). Default: the scope's prefix.
   */
  prefix?: string;
}

const routePathSchema = z.string().startsWith('/', 'must start with /').optional();
const routeSchema = z.union([z.literal(true), z.strictObject({ path: routePathSchema })]);
const fastifySchema = z.strictObject({
  ...guardShape,
  routes: z
    .strictObject({
      login: z
        .strictObject({
          path: routePathSchema,
          authenticate: fn<NonNullable<AuthRoutes['login']>['authenticate']>('authenticate'),
        })
        .optional(),
      refresh: routeSchema.optional(),
      logout: routeSchema.optional(),
    })
    .default({}),
  // Fastify's own register options, passed to every plugin.
  prefix: z.string().optional(),
  logLevel: z.string().optional(),
  logSerializers: z.unknown().optional(),
});

const sendAuthError = (reply: FastifyReply, error: AuthError) => {
  const { status, headers, body } = authErrorResponse(error);
  return reply.code(status).headers(headers).send(body);
};

const routePath = (route: true | AuthRouteOptions | undefined, fallback: string) =>
  route === undefined ? undefined : route === true ? fallback : (route.path ?? fallback);

/** Login and refresh are public wherever they are mounted (prefix scopes included). */
const PUBLIC_ROUTE = { config: { auth: false } } as const;

/**
 * Fastify plugin: authenticates every request in an `onRequest` hook (before the body
 * is read) and puts the claims on `request.auth`. Public paths, routes with
 * `config: { auth: false }` and CORS preflights pass without a token. Any failure is
 * a 401 with one uniform JSON body (403 for an authorizer denial, 503 when the
 * session store is down and `onStoreError` is `deny`); which check failed goes to
 * `onReject` (default: `request.log.info`), never to the client.
 *
 * `routes` registers login / refresh / logout endpoints that return new tokens both
 * in the JSON body and in the `x-jwt-token` / `x-refresh-token` headers. Browsers only
 * expose those headers cross-origin when CORS says so:
 * `Access-Control-Expose-Headers: x-jwt-token, x-refresh-token` (with `@fastify/cors`:
 * `exposedHeaders: ['x-jwt-token', 'x-refresh-token']`).
 *
 * The plugin is not encapsulated: its hook covers every route of the instance it is
 * registered on. girder never imports fastify at run time.
 *
 * @example
 * ```ts
 * import Fastify from 'fastify';
 * import { fastifyAuth } from 'girder/http';
 *
 * const app = Fastify();
 * await app.register(fastifyAuth, {
 *   tokens,
 *   authorizer: authz,
 *   publicPaths: ['/health', '/products/**'],
 *   routes: {
 *     login: {
 *       authenticate: async (request) => {
 *         const user = await users.check(request.body as { email: string; password: string });
 *         return user ? { subject: user.id, claims: { name: user.name } } : null;
 *       },
 *     },
 *     refresh: true,
 *     logout: true,
 *   },
 * });
 * app.get('/me', async (request) => ({ id: request.auth!.sub }));
 * ```
 */
export const fastifyAuth: FastifyPluginAsync<FastifyAuthOptions> = async (app, options) => {
  const o = parseOptions('fastifyAuth', fastifySchema, options);
  const { routes, tokens } = o;
  const prefix = o.prefix && o.prefix !== '/' ? o.prefix.replace(/\/$/, '') : '';
  const at = (path: string | undefined) => (path === undefined ? undefined : prefix + path);
  const loginPath = at(routes.login ? (routes.login.path ?? '/auth/login') : undefined);
  const refreshPath = at(routePath(routes.refresh, '/auth/refresh'));
  const logoutPath = at(routePath(routes.logout, '/auth/logout'));
  const onReject =
    o.onReject ??
    ((error: AuthError, request: AuthRequestInfo) =>
      (request as FastifyRequest).log?.info({ authCode: error.code }, 'request rejected by auth'));
  const guard = authGuard({
    tokens: o.tokens,
    publicPaths: o.publicPaths,
    skipPreflight: o.skipPreflight,
    onReject,
    ...(o.authorizer && { authorizer: o.authorizer }),
    ...(o.cookie !== undefined && { cookie: o.cookie }),
    ...(o.permission && { permission: o.permission }),
  });

  app.decorateRequest('auth', null);
  app.addHook('onRequest', async (request, reply) => {
    if (request.routeOptions.config?.auth === false) return;
    // Authorize on the route the router matched (template + decoded params), never on
    // a second reading of the raw URL.
    const template = request.routeOptions.url;
    const matched = template === undefined ? undefined : matchedPath(template, request.params);
    try {
      request.auth = await guard(request, matched);
    } catch (err) {
      if (err instanceof AuthError) return sendAuthError(reply, err);
      throw err;
    }
  });

  const sendPair = async (
    request: FastifyRequest,
    reply: FastifyReply,
    work: () => Promise<TokenPair>,
  ) => {
    try {
      const pair = await work();
      return reply.headers(tokenHeaders(pair)).send(tokenBody(pair));
    } catch (err) {
      if (!(err instanceof AuthError)) throw err;
      onReject(err, request);
      return sendAuthError(reply, err);
    }
  };

  if (routes.login && loginPath) {
    const { authenticate } = routes.login;
    app.post(loginPath, PUBLIC_ROUTE, (request, reply) =>
      sendPair(request, reply, async () => {
        const who = await authenticate(request);
        if (!who) throw new LoginFailedError();
        return tokens.issue(who.subject, {
          ...(who.claims && { claims: who.claims }),
          userAgent: request.headers['user-agent'],
        });
      }),
    );
  }
  if (refreshPath) {
    app.post(refreshPath, PUBLIC_ROUTE, (request, reply) =>
      sendPair(request, reply, () =>
        tokens.refresh(refreshTokenOf(request.headers, request.body) ?? '', {
          userAgent: request.headers['user-agent'],
        }),
      ),
    );
  }
  if (logoutPath) {
    app.post(logoutPath, async (request, reply) => {
      const claims = request.auth;
      // Only reachable unauthenticated if someone listed the path as public.
      if (!claims) return sendAuthError(reply, new TokenMissingError());
      if ((request.body as { all?: unknown } | null | undefined)?.all === true) {
        await tokens.logoutAll(claims.sub);
      } else {
        await tokens.logout(claims.ssid);
      }
      return reply.code(204).send();
    });
  }
};

// Like fastify-plugin: no encapsulation, so the hook covers the routes of the parent.
Object.assign(fastifyAuth, {
  [Symbol.for('skip-override')]: true,
  [Symbol.for('fastify.display-name')]: 'girder-auth',
});
