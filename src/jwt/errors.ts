import { GirderError } from '../core/index.js';

/**
 * Stable codes of {@link AuthError}. Each names the one check that failed, for logs
 * and metrics; clients only ever see {@link AuthError.publicMessage}.
 */
export type AuthErrorCode =
  | 'TOKEN_MISSING'
  | 'TOKEN_INVALID'
  | 'TOKEN_EXPIRED'
  | 'TOKEN_NOT_YET_VALID'
  | 'TOKEN_ALGORITHM'
  | 'TOKEN_TYPE'
  | 'TOKEN_CLAIM_INVALID'
  | 'SESSION_REVOKED'
  | 'REFRESH_TOKEN_REUSED'
  | 'USER_AGENT_MISMATCH'
  | 'SUBJECT_BANNED'
  | 'ACCESS_DENIED'
  | 'SESSION_STORE_UNAVAILABLE'
  | 'OAUTH_STATE_MISMATCH'
  | 'LOGIN_FAILED'
  | 'AMBIGUOUS_PATH';

/**
 * HTTP status an {@link AuthError} maps to: 400 (the request path is ambiguous), 401
 * (who are you?), 403 (not allowed), 503 (can't tell now).
 */
export type AuthStatus = 400 | 401 | 403 | 503;

const PUBLIC_MESSAGES: Record<AuthStatus, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  503: 'Service Unavailable',
};

/**
 * Base class of every authentication and authorization failure. `code` says which
 * check failed (for your logs); `status` and `publicMessage` are the same for every
 * failure of a kind, so a response built from them never tells an attacker which
 * check a forged token tripped.
 *
 * @example
 * ```ts
 * import { AuthError } from 'girder/jwt';
 *
 * try {
 *   request.auth = await tokens.verifyAccess(token);
 * } catch (err) {
 *   if (!(err instanceof AuthError)) throw err;
 *   log.info('auth rejected', { code: err.code }); // e.g. TOKEN_EXPIRED
 *   reply.code(err.status).send({ error: err.publicMessage }); // always "Unauthorized"
 * }
 * ```
 */
export class AuthError extends GirderError {
  /** Which check failed. */
  declare readonly code: AuthErrorCode;
  /** HTTP status to answer with. */
  readonly status: AuthStatus;

  constructor(
    code: AuthErrorCode,
    message: string,
    status: AuthStatus = 401,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
    this.status = status;
  }

  /** What a client may be told: `Unauthorized`, `Forbidden` or `Service Unavailable`, never the check. */
  get publicMessage(): string {
    return PUBLIC_MESSAGES[this.status];
  }
}

/**
 * No token was presented (no `Authorization` header or cookie). Code `TOKEN_MISSING`.
 *
 * @example
 * ```ts
 * import { TokenMissingError } from 'girder/jwt';
 *
 * if (!token) throw new TokenMissingError();
 * ```
 */
export class TokenMissingError extends AuthError {
  constructor() {
    super('TOKEN_MISSING', 'no token was presented');
  }
}

/**
 * The token is not a well-formed, correctly signed JWT of ours: bad or missing
 * signature, tampered header or payload, unknown `kid`, a signature by another key,
 * garbage, or longer than `maxTokenLength`. Code `TOKEN_INVALID`.
 *
 * @example
 * ```ts
 * import { isGirderError } from 'girder/core';
 *
 * await tokens.verifyAccess('not.a.jwt').catch((err) => isGirderError(err, 'TOKEN_INVALID')); // true
 * ```
 */
export class TokenInvalidError extends AuthError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('TOKEN_INVALID', message, 401, options);
  }
}

/**
 * The token's `exp` has passed. Code `TOKEN_EXPIRED`. For an access token the client
 * should call the refresh endpoint; for a refresh token it must log in again.
 *
 * @example
 * ```ts
 * import { TokenExpiredError } from 'girder/jwt';
 *
 * if (err instanceof TokenExpiredError) reply.header('x-token-expired', '1');
 * ```
 */
export class TokenExpiredError extends AuthError {
  constructor(options?: { cause?: unknown }) {
    super('TOKEN_EXPIRED', 'token has expired', 401, options);
  }
}

/**
 * The token's `nbf` (not before) lies in the future. Code `TOKEN_NOT_YET_VALID`.
 *
 * @example
 * ```ts
 * import { isGirderError } from 'girder/core';
 *
 * if (isGirderError(err, 'TOKEN_NOT_YET_VALID')) log.warn('clock skew or a forged nbf');
 * ```
 */
export class TokenNotYetValidError extends AuthError {
  constructor(options?: { cause?: unknown }) {
    super('TOKEN_NOT_YET_VALID', 'token is not valid yet (nbf)', 401, options);
  }
}

/**
 * The token's `alg` header is not the algorithm pinned to the key it names (this
 * catches `alg: none` and HS256-signed-with-the-public-key confusion). Code `TOKEN_ALGORITHM`.
 *
 * @example
 * ```ts
 * import { TokenAlgorithmError } from 'girder/jwt';
 *
 * if (err instanceof TokenAlgorithmError) metrics.forgeryAttempts.inc();
 * ```
 */
export class TokenAlgorithmError extends AuthError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('TOKEN_ALGORITHM', message, 401, options);
  }
}

/**
 * A validly signed token of the wrong type: a refresh token used as an access token,
 * an access token presented for refresh, an OAuth state used as either. Code `TOKEN_TYPE`.
 *
 * @example
 * ```ts
 * import { isGirderError } from 'girder/core';
 *
 * await tokens.verifyAccess(pair.refreshToken).catch((err) => isGirderError(err, 'TOKEN_TYPE')); // true
 * ```
 */
export class TokenTypeError extends AuthError {
  constructor(expected: string, options?: { cause?: unknown }) {
    super('TOKEN_TYPE', `token is not of type ${expected}`, 401, options);
  }
}

/**
 * A validly signed token whose claims are wrong: a required claim (`sub`, `ssid`,
 * `jti`, ...) missing or of the wrong type, or `iss` / `aud` not ours. Code
 * `TOKEN_CLAIM_INVALID`; `claim` names it.
 *
 * @example
 * ```ts
 * import { TokenClaimError } from 'girder/jwt';
 *
 * if (err instanceof TokenClaimError) log.warn('bad claim', { claim: err.claim });
 * ```
 */
export class TokenClaimError extends AuthError {
  /** The offending claim, e.g. `ssid` or `aud`. */
  readonly claim: string;

  constructor(claim: string, problem: string, options?: { cause?: unknown }) {
    super('TOKEN_CLAIM_INVALID', `claim "${claim}" ${problem}`, 401, options);
    this.claim = claim;
  }
}

/**
 * The token's session was logged out (`logout`, `logoutAll`), killed by refresh-token
 * reuse detection, or is unknown to the session store. Code `SESSION_REVOKED`.
 *
 * @example
 * ```ts
 * import { isGirderError } from 'girder/core';
 *
 * await tokens.logout(pair.sessionId);
 * await tokens.verifyAccess(pair.accessToken).catch((err) => isGirderError(err, 'SESSION_REVOKED')); // true
 * ```
 */
export class SessionRevokedError extends AuthError {
  /** The revoked session. */
  readonly sessionId: string;

  constructor(sessionId: string) {
    super('SESSION_REVOKED', `session ${sessionId} is no longer valid`);
    this.sessionId = sessionId;
  }
}

/**
 * A refresh token that was already rotated was presented again: either it was stolen
 * or a client retried. The whole session has been revoked. Code `REFRESH_TOKEN_REUSED`.
 *
 * @example
 * ```ts
 * import { RefreshTokenReusedError } from 'girder/jwt';
 *
 * if (err instanceof RefreshTokenReusedError) securityLog.warn('refresh token replay', { session: err.sessionId });
 * ```
 */
export class RefreshTokenReusedError extends AuthError {
  /** The session that was revoked because of the replay. */
  readonly sessionId: string;

  constructor(sessionId: string) {
    super(
      'REFRESH_TOKEN_REUSED',
      `an already rotated refresh token of session ${sessionId} was replayed; the session is revoked`,
    );
    this.sessionId = sessionId;
  }
}

/**
 * The token is bound to another `User-Agent` than the request's (with
 * `bindUserAgent: true`). Code `USER_AGENT_MISMATCH`.
 *
 * @example
 * ```ts
 * import { isGirderError } from 'girder/core';
 *
 * if (isGirderError(err, 'USER_AGENT_MISMATCH')) log.warn('token used from another client');
 * ```
 */
export class UserAgentMismatchError extends AuthError {
  constructor() {
    super('USER_AGENT_MISMATCH', 'token was issued to another user agent');
  }
}

/**
 * The subject is banned (`tokenService().ban()`): no new session, no refresh, and the
 * sessions it had when banned stay dead. Code `SUBJECT_BANNED`.
 *
 * @example
 * ```ts
 * import { SubjectBannedError } from 'girder/jwt';
 *
 * await tokens.issue('u-42').catch((err) => err instanceof SubjectBannedError); // after tokens.ban('u-42')
 * ```
 */
export class SubjectBannedError extends AuthError {
  /** The banned subject. */
  readonly subject: string;

  constructor(subject: string) {
    super('SUBJECT_BANNED', `subject ${subject} is banned`);
    this.subject = subject;
  }
}

/**
 * The authorizer denied the action: no role grants it, or a deny rule matched.
 * Code `ACCESS_DENIED`, status 403.
 *
 * @example
 * ```ts
 * import { AccessDeniedError } from 'girder/jwt';
 *
 * await authz.authorize('u-1', 'DELETE', '/orders/9').catch((err) => err instanceof AccessDeniedError);
 * ```
 */
export class AccessDeniedError extends AuthError {
  /** Who asked. */
  readonly subject: string;
  /** What they wanted to do. */
  readonly action: string;
  /** What they wanted to do it to. */
  readonly resource: string;

  constructor(subject: string, action: string, resource: string) {
    super('ACCESS_DENIED', `${subject} may not ${action} ${resource}`, 403);
    this.subject = subject;
    this.action = action;
    this.resource = resource;
  }
}

/**
 * The session store could not be reached (or did not answer within its timeout), so
 * girder cannot tell whether the session was revoked. Code `SESSION_STORE_UNAVAILABLE`,
 * status 503. Thrown by `verifyAccess` only with `onStoreError: 'deny'` (the default);
 * always by `issue`, `refresh` and `logout`.
 *
 * @example
 * ```ts
 * import { SessionStoreUnavailableError } from 'girder/jwt';
 *
 * if (err instanceof SessionStoreUnavailableError) reply.code(503).header('retry-after', '1');
 * ```
 */
export class SessionStoreUnavailableError extends AuthError {
  /** The store operation that failed, e.g. `check` or `rotate`. */
  readonly operation: string;

  constructor(operation: string, options?: { cause?: unknown }) {
    super('SESSION_STORE_UNAVAILABLE', `session store failed during ${operation}`, 503, options);
    this.operation = operation;
  }
}

/**
 * The `state` an OAuth provider sent back to the callback is not the one bound to
 * this browser's state cookie: a login CSRF attempt (an attacker's authorization code
 * pushed into the victim's browser) or a stale tab. Code `OAUTH_STATE_MISMATCH`.
 *
 * @example
 * ```ts
 * import { OAuthStateMismatchError } from 'girder/jwt';
 *
 * await states.verify(query.state, cookies.oauth_state).catch((err) => err instanceof OAuthStateMismatchError);
 * ```
 */
export class OAuthStateMismatchError extends AuthError {
  constructor() {
    super('OAUTH_STATE_MISMATCH', 'OAuth state does not match the state cookie');
  }
}

/**
 * A login was refused: the credentials did not check out. Code `LOGIN_FAILED`, status
 * 401 — the same answer whether the user is unknown or the password is wrong.
 *
 * @example
 * ```ts
 * import { LoginFailedError } from 'girder/jwt';
 *
 * if (!(await users.checkPassword(email, password))) throw new LoginFailedError();
 * ```
 */
export class LoginFailedError extends AuthError {
  constructor() {
    super('LOGIN_FAILED', 'credentials were refused');
  }
}

/**
 * The request path could be read as more than one path (an encoded `/` `\\` `%` `?` `#`,
 * a `.` or `..` segment, an empty segment, a control character, a malformed or
 * non-UTF-8 percent-encoding), so the auth layer refuses it before any handler runs
 * rather than guess which one the router will see. Code `AMBIGUOUS_PATH`, status 400.
 *
 * @example
 * ```ts
 * import { AmbiguousPathError } from 'girder/jwt';
 *
 * await guard({ method: 'GET', url: '/orders/1%2Frefund', headers: {} }).catch(
 *   (err) => err instanceof AmbiguousPathError, // true
 * );
 * ```
 */
export class AmbiguousPathError extends AuthError {
  /** Why the path was refused. */
  readonly reason: string;

  constructor(reason: string) {
    super('AMBIGUOUS_PATH', `ambiguous request path: ${reason}`, 400);
    this.reason = reason;
  }
}

/** Why a permission rule was refused: see {@link InvalidRuleError}. */
export type InvalidRuleReason = 'syntax' | 'too-long' | 'unsafe' | 'flags' | 'shape';

/**
 * A permission rule (or a public-path pattern) was refused when it was added: a regex
 * that does not compile, is longer than allowed, uses unsupported flags, or looks
 * prone to catastrophic backtracking (ReDoS). Code `INVALID_RULE`. Not an
 * {@link AuthError}: it is a configuration error, raised where the rule is added.
 *
 * @example
 * ```ts
 * import { InvalidRuleError } from 'girder/jwt';
 *
 * try {
 *   await authz.setRole('editor', [{ resource: '^/(a+)+$', match: 'regex' }]);
 * } catch (err) {
 *   if (err instanceof InvalidRuleError) console.log(err.reason); // 'unsafe'
 * }
 * ```
 */
export class InvalidRuleError extends GirderError {
  /** The pattern that was refused. */
  readonly pattern: string;
  /** Why. */
  readonly reason: InvalidRuleReason;

  constructor(pattern: string, reason: InvalidRuleReason, detail: string) {
    super('INVALID_RULE', `invalid rule pattern ${JSON.stringify(pattern)}: ${detail}`);
    this.pattern = pattern;
    this.reason = reason;
  }
}
