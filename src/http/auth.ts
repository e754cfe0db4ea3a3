import type { IncomingMessage, ServerResponse } from 'node:http';
import { type AccessClaims, AuthError } from '../jwt/index.js';
import { type AuthOptions, authGuard } from './auth-guard.js';
import { authErrorResponse } from './auth-tokens.js';

export {
  type AuthRouteOptions,
  type AuthRoutes,
  type FastifyAuthOptions,
  fastifyAuth,
  type LoginIdentity,
} from './auth-fastify.js';
export {
  type AuthOptions,
  type AuthRequestInfo,
  authGuard,
  type RequestPermission,
} from './auth-guard.js';
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
