import type { IncomingHttpHeaders } from 'node:http';
import { z } from 'zod';
import { parseOptions } from '../core/index.js';
import {
  type AccessClaims,
  AuthError,
  type Authorizer,
  type ResourcePattern,
  resourceMatcher,
  TokenMissingError,
  type TokenService,
} from '../jwt/index.js';
import { decodeRequestPath } from './auth-path.js';
import { requestToken } from './auth-tokens.js';

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

/** @internal */
export const fn = <T>(what: string) =>
  z.custom<T>((f) => typeof f === 'function', `${what} must be a function`);

/** @internal */
export const guardShape = {
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
