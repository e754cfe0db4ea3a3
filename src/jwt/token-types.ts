import type { EventSource } from '../core/index.js';
import type { AuthErrorCode } from './errors.js';
import type { Jwks } from './keys.js';

/**
 * Header `typ` of access tokens: `at+jwt` (RFC 9068).
 *
 * @example
 * ```ts
 * import { jwtVerify } from 'jose';
 * import { ACCESS_TOKEN_TYPE } from 'girder/jwt';
 *
 * // Another service verifying girder access tokens against the published JWKS:
 * await jwtVerify(token, jwks, { typ: ACCESS_TOKEN_TYPE, issuer: 'shop' });
 * ```
 */
export const ACCESS_TOKEN_TYPE = 'at+jwt';

/**
 * Header `typ` of refresh tokens: `rt+jwt`. Only `refresh()` accepts them.
 *
 * @example
 * ```ts
 * import { decodeProtectedHeader } from 'jose';
 * import { REFRESH_TOKEN_TYPE } from 'girder/jwt';
 *
 * decodeProtectedHeader(pair.refreshToken).typ === REFRESH_TOKEN_TYPE; // true
 * ```
 */
export const REFRESH_TOKEN_TYPE = 'rt+jwt';

/**
 * What `verifyAccess` returns: the registered claims girder sets, the session id
 * `ssid`, and your own claims from `issue(subject, {claims})`. Treat it as read-only.
 *
 * @example
 * ```ts
 * const claims: AccessClaims = await tokens.verifyAccess(token);
 * console.log(claims.sub, claims.ssid, claims.role);
 * ```
 */
export interface AccessClaims {
  /** Subject: who the token is for. */
  readonly sub: string;
  /** Session id, shared by the access and refresh tokens of one login. */
  readonly ssid: string;
  /** Unique id of this token. */
  readonly jti: string;
  /** Issued at, seconds since the epoch. */
  readonly iat: number;
  /** Expires at, seconds since the epoch. */
  readonly exp: number;
  /** Issuer, when the service has one. */
  readonly iss?: string;
  /** Audience, when the service has one. */
  readonly aud?: string | string[];
  /** Your own claims. */
  readonly [claim: string]: unknown;
}

/**
 * A fresh access + refresh token pair, from `issue` or `refresh`.
 *
 * @example
 * ```ts
 * const { accessToken, refreshToken, sessionId, expiresAt } = await tokens.issue('u-1');
 * ```
 */
export interface TokenPair {
  /** Short-lived token sent with every request. */
  readonly accessToken: string;
  /** Long-lived, single-use token that buys the next pair. */
  readonly refreshToken: string;
  /** The session both belong to (`ssid`); `logout(sessionId)` ends it. */
  readonly sessionId: string;
  /** When the access token expires, ms since the epoch. */
  readonly expiresAt: number;
  /** When the refresh token expires, ms since the epoch. */
  readonly refreshExpiresAt: number;
}

/** Options of {@link TokenService.issue}. */
export interface IssueOptions {
  /** Your claims, copied into both tokens (and into the pairs `refresh` mints). Registered names are refused. */
  claims?: Record<string, unknown>;
  /** The client's `User-Agent`; bound into the tokens when `bindUserAgent` is on. */
  userAgent?: string | undefined;
  /** Cancels the operation. */
  signal?: AbortSignal | undefined;
}

/** Options of {@link TokenService.verifyAccess}. */
export interface VerifyOptions {
  /** The request's `User-Agent`; compared with the token's when `bindUserAgent` is on. */
  userAgent?: string | undefined;
  /** Cancels the operation. */
  signal?: AbortSignal | undefined;
}

/** Options of {@link TokenService.refresh}. */
export interface RefreshOptions extends VerifyOptions {
  /** Replace the claims carried over from the previous pair (e.g. after a profile change). */
  claims?: Record<string, unknown>;
}

/** Events of a {@link TokenService}. */
export type TokenEvents = {
  /** A session started. */
  issued: {
    /** Whose session. */
    subject: string;
    /** The new session. */
    sessionId: string;
  };
  /** `verifyAccess` accepted an access token (emitted only while someone listens). */
  verified: {
    /** Whose session. */
    subject: string;
    /** The session. */
    sessionId: string;
    /** `true` when the session store failed and `onStoreError: 'allow'` accepted it. */
    failedOpen: boolean;
  };
  /** A refresh token was rotated into a new pair. */
  refreshed: {
    /** Whose session. */
    subject: string;
    /** The session. */
    sessionId: string;
  };
  /** `verifyAccess` or `refresh` refused a token. */
  rejected: {
    /** Which call refused it. */
    operation: 'verify' | 'refresh';
    /** Which check failed. */
    code: AuthErrorCode;
  };
  /** A rotated refresh token was replayed; its session is now revoked. */
  reuseDetected: {
    /** Whose session. */
    subject: string;
    /** The session revoked. */
    sessionId: string;
  };
  /** `logout` revoked a session. */
  loggedOut: {
    /** The session revoked. */
    sessionId: string;
  };
  /** `logoutAll` revoked a subject's sessions. */
  loggedOutAll: {
    /** Whose sessions. */
    subject: string;
    /** How many were active. */
    sessions: number;
  };
  /** A subject was banned. */
  banned: {
    /** Who. */
    subject: string;
    /** How many active sessions the ban ended. */
    sessions: number;
  };
  /** A ban was lifted. */
  unbanned: {
    /** Who. */
    subject: string;
  };
  /** The session store failed. */
  storeError: {
    /** The store operation, e.g. `check` or `rotate`. */
    operation: string;
    /** What the store threw. */
    error: unknown;
    /** `true` when `verifyAccess` accepted the token anyway (`onStoreError: 'allow'`). */
    failedOpen: boolean;
  };
};

/**
 * Issues, verifies, rotates and revokes short access / long refresh token pairs.
 * Create one with {@link tokenService}.
 */
export interface TokenService {
  /**
   * Start a session for `subject` and return its first token pair. Rejects with
   * `SUBJECT_BANNED` when the subject is banned.
   */
  issue(subject: string, options?: IssueOptions): Promise<TokenPair>;
  /**
   * Check an access token: signature with the key its `kid` names and that key's
   * pinned algorithm, type, expiry, claims, user agent, then the session's state in
   * the store. Resolves its claims, or rejects with an {@link AuthError} whose `code`
   * names the failed check.
   */
  verifyAccess(token: string, options?: VerifyOptions): Promise<AccessClaims>;
  /**
   * Exchange a refresh token for a new pair in the same session. Refresh tokens are
   * single-use: presenting one that was already rotated revokes the whole session
   * (`REFRESH_TOKEN_REUSED`), so a stolen one is useless once either party has used it.
   */
  refresh(refreshToken: string, options?: RefreshOptions): Promise<TokenPair>;
  /** Revoke one session everywhere; resolves `true` when it was active. */
  logout(sessionId: string): Promise<boolean>;
  /** Revoke every session of a subject everywhere; resolves how many were active. */
  logoutAll(subject: string): Promise<number>;
  /**
   * Ban a subject (for `ttlMs`, or until {@link TokenService.unban}): its sessions end
   * at once (`SUBJECT_BANNED`) and it can neither log in nor refresh. Resolves how many
   * sessions ended.
   */
  ban(subject: string, options?: { ttlMs?: number }): Promise<number>;
  /** Lift a ban. Sessions the ban ended stay ended: the subject logs in again. */
  unban(subject: string): Promise<boolean>;
  /** Whether a subject is banned now. */
  isBanned(subject: string): Promise<boolean>;
  /** The public keys (asymmetric ones only) as a JWKS, to publish for other verifiers. */
  jwks(): Jwks;
  /** Whether tokens are bound to the `User-Agent` (so callers know to pass it). */
  readonly bindUserAgent: boolean;
  /** The `name` option: for logs and metrics. */
  readonly name: string;
  /** Typed events: issued, refreshed, rejected, reuseDetected, loggedOut, storeError, ... */
  readonly events: EventSource<TokenEvents>;
}
