import type { IncomingHttpHeaders } from 'node:http';
import { InvalidArgumentError } from '../core/index.js';
import { AuthError, TokenInvalidError, type TokenPair } from '../jwt/index.js';

const optionalString = (name: string, value: unknown): string | undefined => {
  if (value === undefined || typeof value === 'string') return value;
  throw new InvalidArgumentError(name, 'must be a string or undefined');
};

const headersOf = (headers: unknown): IncomingHttpHeaders => {
  if (typeof headers !== 'object' || headers === null || Array.isArray(headers)) {
    throw new InvalidArgumentError('headers', 'must be an object of request headers');
  }
  return headers as IncomingHttpHeaders;
};

const pairOf = (pair: unknown): TokenPair => {
  const p = pair as TokenPair | null;
  if (
    typeof p !== 'object' ||
    p === null ||
    typeof p.accessToken !== 'string' ||
    typeof p.refreshToken !== 'string'
  ) {
    throw new InvalidArgumentError('pair', 'must be a TokenPair from issue() or refresh()');
  }
  return p;
};

/**
 * Response header carrying a new access token: `x-jwt-token`.
 *
 * @example
 * ```ts
 * import { ACCESS_TOKEN_HEADER } from 'girder/http';
 *
 * const token = response.headers.get(ACCESS_TOKEN_HEADER); // in the browser, needs CORS expose-headers
 * ```
 */
export const ACCESS_TOKEN_HEADER = 'x-jwt-token';

/**
 * Response (and request) header carrying a refresh token: `x-refresh-token`.
 *
 * @example
 * ```ts
 * import { REFRESH_TOKEN_HEADER } from 'girder/http';
 *
 * await fetch('/auth/refresh', { method: 'POST', headers: { [REFRESH_TOKEN_HEADER]: refreshToken } });
 * ```
 */
export const REFRESH_TOKEN_HEADER = 'x-refresh-token';

/**
 * The token in an `Authorization` header: `Bearer <token>` (scheme case-insensitive)
 * or a bare `<token>`. `undefined` when the header is absent or empty; throws
 * `TOKEN_INVALID` for another scheme (`Basic ...`).
 *
 * @example
 * ```ts
 * import { bearerToken } from 'girder/http';
 *
 * bearerToken('Bearer eyJhbGciOi...'); // 'eyJhbGciOi...'
 * bearerToken('eyJhbGciOi...'); // 'eyJhbGciOi...'
 * bearerToken(undefined); // undefined
 * ```
 */
export function bearerToken(authorization: string | undefined): string | undefined {
  const header = optionalString('authorization', authorization);
  if (header === undefined) return undefined;
  const value = header.trim();
  if (value.length === 0) return undefined;
  const space = value.indexOf(' ');
  // A lone scheme (`Bearer`, as `Bearer ` arrives once trimmed) carries no token.
  if (space === -1) return value.toLowerCase() === 'bearer' ? undefined : value;
  if (value.slice(0, space).toLowerCase() !== 'bearer') {
    throw new TokenInvalidError('unsupported authorization scheme');
  }
  const token = value.slice(space + 1).trim();
  return token.length === 0 ? undefined : token;
}

/**
 * The value of one cookie in a `Cookie` header, URL-decoded; `undefined` when absent.
 *
 * @example
 * ```ts
 * import { readCookie } from 'girder/http';
 *
 * readCookie('theme=dark; access_token=eyJ...', 'access_token'); // 'eyJ...'
 * ```
 */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (typeof name !== 'string' || name.length === 0) {
    throw new InvalidArgumentError('name', 'must be a non-empty string');
  }
  const cookies = optionalString('header', header);
  if (!cookies) return undefined;
  for (const part of cookies.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1 || part.slice(0, eq).trim() !== name) continue;
    const raw = part.slice(eq + 1).trim();
    const unquoted =
      raw.length >= 2 && raw.startsWith('"') && raw.endsWith('"') ? raw.slice(1, -1) : raw;
    try {
      return decodeURIComponent(unquoted);
    } catch {
      return unquoted;
    }
  }
  return undefined;
}

const first = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value);

/**
 * The access token of a request: from `Authorization` (`Bearer x` or bare `x`), else
 * from the cookie `cookie` when given.
 *
 * @example
 * ```ts
 * import { requestToken } from 'girder/http';
 *
 * const token = requestToken(req.headers, 'access_token');
 * ```
 */
export function requestToken(
  headers: IncomingHttpHeaders,
  cookie?: string | undefined,
): string | undefined {
  headersOf(headers);
  optionalString('cookie', cookie);
  const fromHeader = bearerToken(first(headers.authorization));
  if (fromHeader !== undefined) return fromHeader;
  return cookie === undefined ? undefined : readCookie(first(headers.cookie), cookie);
}

/**
 * The refresh token of a request: the `x-refresh-token` header, else a
 * `refreshToken` field of a (parsed) JSON body, else the `Authorization` header.
 *
 * @example
 * ```ts
 * import { refreshTokenOf } from 'girder/http';
 *
 * const pair = await tokens.refresh(refreshTokenOf(request.headers, request.body) ?? '');
 * ```
 */
export function refreshTokenOf(headers: IncomingHttpHeaders, body?: unknown): string | undefined {
  headersOf(headers);
  const fromHeader = first(headers[REFRESH_TOKEN_HEADER]);
  if (fromHeader) return fromHeader.trim();
  const fromBody = (body as { refreshToken?: unknown } | null | undefined)?.refreshToken;
  if (typeof fromBody === 'string' && fromBody.length > 0) return fromBody;
  return bearerToken(first(headers.authorization));
}

/**
 * The headers that hand a new pair to the client: `x-jwt-token` and `x-refresh-token`.
 * Browsers only let scripts read them cross-origin when CORS exposes them
 * (`Access-Control-Expose-Headers: x-jwt-token, x-refresh-token`).
 *
 * @example
 * ```ts
 * import { tokenHeaders } from 'girder/http';
 *
 * for (const [name, value] of Object.entries(tokenHeaders(pair))) res.setHeader(name, value);
 * ```
 */
export function tokenHeaders(pair: TokenPair): Record<string, string> {
  pairOf(pair);
  return { [ACCESS_TOKEN_HEADER]: pair.accessToken, [REFRESH_TOKEN_HEADER]: pair.refreshToken };
}

/** JSON body returned by the login and refresh helpers. */
export interface TokenBody {
  /** The access token. */
  accessToken: string;
  /** The refresh token. */
  refreshToken: string;
  /** When the access token expires, ms since the epoch. */
  expiresAt: number;
  /** When the refresh token expires, ms since the epoch. */
  refreshExpiresAt: number;
}

/**
 * The JSON body for a new pair (the session id stays server-side: it is in the tokens).
 *
 * @example
 * ```ts
 * import { tokenBody } from 'girder/http';
 *
 * res.end(JSON.stringify(tokenBody(pair)));
 * ```
 */
export function tokenBody(pair: TokenPair): TokenBody {
  pairOf(pair);
  return {
    accessToken: pair.accessToken,
    refreshToken: pair.refreshToken,
    expiresAt: pair.expiresAt,
    refreshExpiresAt: pair.refreshExpiresAt,
  };
}

/** The uniform JSON body of every 401 / 403 / 503 the auth layer sends. */
export interface AuthErrorBody {
  /** HTTP status. */
  statusCode: number;
  /** Status text: `Bad Request`, `Unauthorized`, `Forbidden` or `Service Unavailable`. */
  error: string;
  /** Same as `error`: never which check failed. */
  message: string;
}

/** What {@link authErrorResponse} returns. */
export interface AuthErrorResponse {
  /** HTTP status: 400, 401, 403 or 503. */
  status: number;
  /** Response headers (content type, `WWW-Authenticate` or `Retry-After`). */
  headers: Record<string, string>;
  /** The uniform JSON body. */
  body: AuthErrorBody;
}

/**
 * Status, headers and body for an {@link AuthError}: the same for every failure of a
 * status, so a response never reveals which check failed. Throws `INVALID_ARGUMENT`
 * for anything that is not an `AuthError`. 401 carries
 * `WWW-Authenticate: Bearer`; 503 carries `Retry-After: 1`.
 *
 * @example
 * ```ts
 * import { authErrorResponse } from 'girder/http';
 *
 * const { status, headers, body } = authErrorResponse(err);
 * res.writeHead(status, headers).end(JSON.stringify(body));
 * ```
 */
export function authErrorResponse(error: AuthError): AuthErrorResponse {
  if (!(error instanceof AuthError)) {
    throw new InvalidArgumentError('error', 'must be an AuthError');
  }
  const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8' };
  if (error.status === 401) headers['www-authenticate'] = 'Bearer';
  if (error.status === 503) headers['retry-after'] = '1';
  const text = error.publicMessage;
  return {
    status: error.status,
    headers,
    body: { statusCode: error.status, error: text, message: text },
  };
}
