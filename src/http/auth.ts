import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { parseOptions } from '../core/index.js';
import {
  type AccessClaims,
  AuthError,
  type Authorizer,
  LoginFailedError,
  type ResourcePattern,
  resourceMatcher,
  TokenMissingError,
  type TokenPair,
  type TokenService,
} from '../jwt/index.js';
import { decodeRequestPath, matchedPath } from './auth-path.js';
import {
  authErrorResponse,
  refreshTokenOf,
  requestToken,
  tokenBody,
  tokenHeaders,
} from './auth-tokens.js';

export { decodeRequestPath, matchedPath } from './auth-path.js';
export {
  ACCESS_TOKEN_HEADER,
  type AuthErrorBody,
  type AuthErrorResponse,
  authErrorResponse,
  bearerToken,
  REFRESH_TOKEN_HEADER,
  readCookie,
  refreshTokenOf,
  requestToken,
  type TokenBody,
  tokenBody,
  tokenHeaders,
} from './auth-tokens.js';

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

/** What the auth layer needs of a request. */
export interface AuthRequestInfo {
  /** HTTP method. */
  readonly method: string;
  /** Request target, path plus optional query string. */
  readonly url: string;
  /** Request headers. */
  readonly headers: IncomingHttpHeaders;
}

/** The action and resource a request asks for, as the authorizer sees them. */
export interface RequestPermission {
  /** E.g. the HTTP method. */
  action: string;
  /** E.g. the path. */
  resource: string;
}

/** Options shared by {@link fastifyAuth}, {@link authMiddleware} and {@link authGuard}. */
export interface AuthOptions {
  /** Verifies access tokens. */
  tokens: TokenService;
  /** Checks permissions after authentication (403 on denial). Default: authentication only. */
  authorizer?: Authorizer;
  /**
   * Paths that need no token: exact (`/login`), glob (`/static/**`) or regex
   * (`/^\/products\/\d+$/`). Matched against the decoded path without its query
   * string (in Fastify: the route the router matched, with its decoded parameters).
   */
  publicPaths?: ResourcePattern[];
  /** Also read the access token from this cookie when there is no `Authorization` header. Default: header only. */
  cookie?: string;
  /** The authorizer's view of a request. Default `{action: method, resource: path}`. */
  permission?: (request: AuthRequestInfo, path: string) => RequestPermission;
  /** Let CORS preflight requests (`OPTIONS` with `Access-Control-Request-Method`) through. Default `true`. */
  skipPreflight?: boolean;
  /** Called with each rejection (its `code` says which check failed) — for your logs. */
  onReject?: (error: AuthError, request: AuthRequestInfo) => void;
}

const fn = <T>(what: string) =>
  z.custom<T>((f) => typeof f === 'function', `${what} must be a function`);

const guardShape = {
  tokens: z.custom<TokenService>(
    (t) => typeof (t as TokenService | null)?.verifyAccess === 'function',
    'must be a TokenService (tokenService({...}))',
  ),
  authorizer: z
    .custom<Authorizer>(
      (a) => typeof (a as Authorizer | null)?.authorize === 'function',
      'must be an Authorizer (authorizer({...}))',
    )
    .optional(),
  publicPaths: z
    .array(
      z.custom<ResourcePattern>(
        (p) =>
          typeof p === 'string' || p instanceof RegExp || (typeof p === 'object' && p !== null),
        'must be a string, a RegExp or a pattern spec',
      ),
    )
    .default([]),
  cookie: z.string().min(1).optional(),
  permission: fn<NonNullable<AuthOptions['permission']>>('permission').optional(),
  skipPreflight: z.boolean().default(true),
  onReject: fn<NonNullable<AuthOptions['onReject']>>('onReject').optional(),
};

const schema = z.strictObject(guardShape);

/**
 * The authentication (and optional authorization) check, independent of any
 * framework: resolves the claims, `null` for a public path or a preflight, or rejects
 * with an {@link AuthError} (`status` 400, 401, 403 or 503). {@link fastifyAuth} and
 * {@link authMiddleware} are thin shells around it.
 *
 * The path is decoded once ({@link decodeRequestPath}); an ambiguous one (encoded `/`,
 * `..`, `%00`, double-encoding, invalid UTF-8, ...) is refused with
 * `AMBIGUOUS_PATH` (400) before anything else. Public paths and the authorizer see
 * `routePath` when given (the path your router matched, decoded), else the decoded path.
 *
 * @example
 * ```ts
 * import { authGuard } from 'girder/http';
 *
 * const guard = authGuard({ tokens, publicPaths: ['/health'] });
 * const claims = await guard({ method: req.method!, url: req.url!, headers: req.headers });
 * ```
 */
export function authGuard(
  options: AuthOptions,
): (request: AuthRequestInfo, routePath?: string) => Promise<AccessClaims | null> {
  const o = parseOptions('auth', schema, options);
  const isPublic = resourceMatcher(o.publicPaths);
  const permission =
    o.permission ??
    ((request: AuthRequestInfo, path: string) => ({
      action: request.method,
      resource: path,
    }));

  return async (request, routePath) => {
    try {
      const decoded = decodeRequestPath(request.url);
      if (
        o.skipPreflight &&
        request.method === 'OPTIONS' &&
        request.headers['access-control-request-method'] !== undefined
      ) {
        return null;
      }
      const path = routePath ?? decoded;
      if (isPublic(path)) return null;
      const token = requestToken(request.headers, o.cookie);
      if (token === undefined) throw new TokenMissingError();
      const userAgent = request.headers['user-agent'];
      const claims = await o.tokens.verifyAccess(token, { userAgent });
      if (o.authorizer) {
        const wanted = permission(request, path);
        await o.authorizer.authorize(claims.sub, wanted.action, wanted.resource);
      }
      return claims;
    } catch (err) {
      if (err instanceof AuthError) o.onReject?.(err, request);
      throw err;
    }
  };
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

/** A Node request after {@link authMiddleware}. */
export type AuthenticatedRequest = IncomingMessage & {
  /** The verified claims; `null` on public paths. */
  auth?: AccessClaims | null;
};

/**
 * Node / Express / Connect middleware `(req, res, next)`: the same check as
 * {@link fastifyAuth}, claims on `req.auth`, uniform 401 / 403 / 503 JSON answers.
 * Errors that are not authentication failures go to `next(err)`.
 *
 * @example
 * ```ts
 * import { createServer } from 'node:http';
 * import { authMiddleware } from 'girder/http';
 *
 * const auth = authMiddleware({ tokens, publicPaths: ['/health'] });
 * createServer((req, res) =>
 *   auth(req, res, (err) => {
 *     if (err) return res.writeHead(500).end();
 *     res.end(`hello ${(req as AuthenticatedRequest).auth?.sub ?? 'guest'}`);
 *   }),
 * ).listen(3000);
 * ```
 */
export function authMiddleware(
  options: AuthOptions,
): (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void {
  const guard = authGuard(options);
  return (req, res, next) => {
    guard({ method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers }).then(
      (claims) => {
        (req as AuthenticatedRequest).auth = claims;
        next();
      },
      (err: unknown) => {
        if (!(err instanceof AuthError)) {
          next(err);
          return;
        }
        const { status, headers, body } = authErrorResponse(err);
        res.writeHead(status, headers).end(JSON.stringify(body));
      },
    );
  };
}
