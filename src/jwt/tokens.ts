import { createHash, randomBytes } from 'node:crypto';
import { InvalidArgumentError, parseOptions, TypedEmitter, throwIfAborted } from '../core/index.js';
import { ClaimsTooLargeError, checkCallOptions, checkClaims, RESERVED_CLAIMS } from './claims.js';
import {
  AuthError,
  RefreshTokenReusedError,
  SessionRevokedError,
  SessionStoreUnavailableError,
  SubjectBannedError,
  TokenClaimError,
  TokenExpiredError,
  UserAgentMismatchError,
} from './errors.js';
import { type JwtCheck, signJwt, verifyJwt } from './jws.js';
import { KeyRing } from './keys.js';
import {
  isSessionId,
  memorySessionStore,
  newSessionId,
  type SessionState,
} from './session-store.js';
import { openSuccessor, sealSuccessor } from './successor.js';
import { type TokenServiceOptions, tokenServiceSchema } from './token-options.js';
import {
  ACCESS_TOKEN_TYPE,
  type AccessClaims,
  type IssueOptions,
  REFRESH_TOKEN_TYPE,
  type RefreshOptions,
  type TokenEvents,
  type TokenPair,
  type TokenService,
  type VerifyOptions,
} from './token-types.js';

const ACCESS_CLAIMS = ['sub', 'ssid', 'jti', 'iat', 'exp'];
const REFRESH_CLAIMS = [...ACCESS_CLAIMS, 'sxp'];

/** A random token id: 96 bits, base64url. */
const randomId = () => randomBytes(12).toString('base64url');

/** The `uah` claim: a hash of the user agent, so the agent itself never sits in a token. */
const userAgentHash = (userAgent: string | undefined) =>
  createHash('sha256')
    .update(userAgent ?? '')
    .digest('base64url')
    .slice(0, 22);

/**
 * Create a token service: short access tokens and long, single-use refresh tokens
 * sharing a session id (`ssid`) that `logout` revokes in the session store.
 *
 * - **Tokens**: access tokens (`typ: at+jwt`, default 30 min) are checked on every
 *   request; refresh tokens (`typ: rt+jwt`, default 7 days) only buy the next pair.
 *   The type is in the signed header, so one can never pass for the other.
 * - **Keys**: the first key signs, every key verifies; each key accepts only its own
 *   `alg`. Rotate by putting a new key first and keeping the old one until the tokens
 *   it signed have expired.
 * - **Revocation**: every `verifyAccess` asks the session store about the session
 *   (memory: a map lookup; Redis: one `HGET`). `logout`, `logoutAll` and `ban` act on
 *   every instance sharing the store at once.
 *
 * Throws `InvalidOptionsError` for bad options (e.g. an HS256 secret shorter than 32
 * bytes, an RSA key under 2048 bits, a public key first).
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import { redisSessionStore, tokenService } from 'girder/jwt';
 *
 * const tokens = tokenService({
 *   keys: [{ kid: '2025-06', alg: 'HS256', key: Buffer.from(process.env.JWT_SECRET!, 'base64') }],
 *   sessionStore: redisSessionStore(new Redis(process.env.REDIS_URL!)),
 *   issuer: 'shop',
 *   bindUserAgent: true,
 * });
 *
 * const pair = await tokens.issue('u-42', { claims: { role: 'buyer' }, userAgent: req.headers['user-agent'] });
 * const claims = await tokens.verifyAccess(pair.accessToken, { userAgent: req.headers['user-agent'] });
 * const next = await tokens.refresh(pair.refreshToken, { userAgent: req.headers['user-agent'] });
 * await tokens.logout(claims.ssid);
 * ```
 */
export function tokenService(options: TokenServiceOptions): TokenService {
  const o = parseOptions('tokenService', tokenServiceSchema, options);
  const ring = new KeyRing(o.keys);
  const store = o.sessionStore ?? memorySessionStore();
  const { clock, bindUserAgent } = o;
  const tolerance = o.clockToleranceMs;
  const base = {
    issuer: o.issuer,
    audience: o.audience,
    maxLength: o.maxTokenLength,
    toleranceSeconds: tolerance / 1000,
  };
  const ACCESS: JwtCheck = { ...base, typ: ACCESS_TOKEN_TYPE, required: ACCESS_CLAIMS };
  const REFRESH: JwtCheck = { ...base, typ: REFRESH_TOKEN_TYPE, required: REFRESH_CLAIMS };
  const events = new TypedEmitter<TokenEvents>();
  // Start importing keys now so the first request does not pay for it.
  ring.ready().catch(() => {});

  const storeCall = async <T>(operation: string, work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (error) {
      if (events.has('storeError'))
        events.emit('storeError', { operation, error, failedOpen: false });
      throw new SessionStoreUnavailableError(operation, { cause: error });
    }
  };

  const reject = (operation: 'verify' | 'refresh', err: unknown): never => {
    if (err instanceof AuthError && events.has('rejected')) {
      events.emit('rejected', { operation, code: err.code });
    }
    throw err;
  };

  const checkSubject = (subject: unknown): string => {
    if (typeof subject !== 'string' || subject.length === 0 || subject.length > 1024) {
      throw new InvalidArgumentError(
        'subject',
        'must be a non-empty string of at most 1024 characters',
      );
    }
    return subject;
  };

  /** Both tokens of a freshly minted pair must pass `verifyAccess` / `refresh` again. */
  const checkLength = (pair: TokenPair): TokenPair => {
    const length = Math.max(pair.accessToken.length, pair.refreshToken.length);
    if (length > o.maxTokenLength) throw new ClaimsTooLargeError(length, o.maxTokenLength);
    return pair;
  };

  /** Signature and claim checks (see jws.ts); the store is not consulted. */
  const verifySigned = async (
    token: unknown,
    check: JwtCheck,
    userAgent: string | undefined,
  ): Promise<Record<string, unknown>> => {
    const payload = await verifyJwt(ring, token, check, clock.now());
    if (typeof payload.sub !== 'string' || payload.sub.length === 0) {
      throw new TokenClaimError('sub', 'must be a non-empty string');
    }
    if (!isSessionId(payload.ssid)) throw new TokenClaimError('ssid', 'is not a session id');
    if (typeof payload.jti !== 'string' || payload.jti.length === 0) {
      throw new TokenClaimError('jti', 'must be a non-empty string');
    }
    if (bindUserAgent && payload.uah !== userAgentHash(userAgent)) {
      throw new UserAgentMismatchError();
    }
    return payload;
  };

  /**
   * When a refresh token minted at `now` expires (seconds: `refreshTtlMs` later, never
   * past the session's end), and how long the store must keep the session for it.
   */
  const refreshWindow = (now: number, sessionEnd: number) => {
    const refreshExp = Math.floor(Math.min(now + o.refreshTtlMs, sessionEnd) / 1000);
    return { refreshExp, ttlMs: refreshExp * 1000 - now + tolerance };
  };

  /** Sign an access + refresh pair for one session. */
  const mint = async ({
    subject,
    sessionId,
    refreshId,
    claims,
    userAgent,
    now,
    refreshExp,
    sessionEnd,
  }: {
    subject: string;
    sessionId: string;
    refreshId: string;
    claims: Record<string, unknown>;
    userAgent: string | undefined;
    now: number;
    refreshExp: number;
    sessionEnd: number;
  }): Promise<TokenPair> => {
    const iat = Math.floor(now / 1000);
    const accessExp = Math.floor((now + o.accessTtlMs) / 1000);
    const common: Record<string, unknown> = { ...claims, sub: subject, ssid: sessionId, iat };
    if (o.issuer !== undefined) common.iss = o.issuer;
    if (o.audience !== undefined) common.aud = o.audience;
    if (bindUserAgent) common.uah = userAgentHash(userAgent);
    const [accessToken, refreshToken] = await Promise.all([
      signJwt(ring, { ...common, jti: randomId(), exp: accessExp }, ACCESS_TOKEN_TYPE),
      signJwt(
        ring,
        { ...common, jti: refreshId, exp: refreshExp, sxp: Math.floor(sessionEnd / 1000) },
        REFRESH_TOKEN_TYPE,
      ),
    ]);
    return checkLength({
      accessToken,
      refreshToken,
      sessionId,
      expiresAt: accessExp * 1000,
      refreshExpiresAt: refreshExp * 1000,
    });
  };

  const sessionError = (state: SessionState, sessionId: string, subject: string): AuthError =>
    state === 'banned' ? new SubjectBannedError(subject) : new SessionRevokedError(sessionId);

  const checkSessionId = (sessionId: unknown): string => {
    if (!isSessionId(sessionId)) {
      throw new InvalidArgumentError('sessionId', 'is not a session id issued by girder');
    }
    return sessionId;
  };

  return {
    bindUserAgent,
    name: o.name,
    events,

    async issue(subject, issueOptionsArg) {
      checkSubject(subject);
      const issueOptions = checkCallOptions<IssueOptions>(issueOptionsArg);
      const claims = checkClaims(issueOptions.claims);
      throwIfAborted(issueOptions.signal);
      const now = clock.now();
      const sessionId = newSessionId(subject);
      const refreshId = randomId();
      const sessionEnd = now + o.maxSessionAgeMs;
      const { refreshExp, ttlMs } = refreshWindow(now, sessionEnd);
      // Sign first: claims that cannot be signed, or make too long a token, leave no session.
      const pair = await mint({
        subject,
        sessionId,
        refreshId,
        claims,
        userAgent: issueOptions.userAgent,
        now,
        refreshExp,
        sessionEnd,
      });
      const created = await storeCall('create', () =>
        store.create({ sessionId, subject, refreshId, ttlMs, now }),
      );
      if (!created) throw new SubjectBannedError(subject);
      if (events.has('issued')) events.emit('issued', { subject, sessionId });
      return pair;
    },

    async verifyAccess(token, verifyOptionsArg) {
      const verifyOptions = checkCallOptions<VerifyOptions>(verifyOptionsArg);
      try {
        const claims = await verifySigned(token, ACCESS, verifyOptions.userAgent);
        throwIfAborted(verifyOptions.signal);
        const sessionId = claims.ssid as string;
        let state: SessionState;
        try {
          state = await store.check(sessionId, clock.now());
        } catch (error) {
          const failedOpen = o.onStoreError === 'allow';
          if (events.has('storeError'))
            events.emit('storeError', { operation: 'check', error, failedOpen });
          if (failedOpen) {
            if (events.has('verified'))
              events.emit('verified', { subject: claims.sub as string, sessionId, failedOpen });
            return claims as AccessClaims;
          }
          throw new SessionStoreUnavailableError('check', { cause: error });
        }
        if (state !== 'active') throw sessionError(state, sessionId, claims.sub as string);
        if (events.has('verified'))
          events.emit('verified', { subject: claims.sub as string, sessionId, failedOpen: false });
        return claims as AccessClaims;
      } catch (err) {
        return reject('verify', err);
      }
    },

    async refresh(refreshToken, refreshOptionsArg) {
      const refreshOptions = checkCallOptions<RefreshOptions>(refreshOptionsArg);
      const newClaims =
        refreshOptions.claims === undefined ? undefined : checkClaims(refreshOptions.claims);
      try {
        const claims = await verifySigned(refreshToken, REFRESH, refreshOptions.userAgent);
        if (typeof claims.sxp !== 'number' || !Number.isFinite(claims.sxp)) {
          throw new TokenClaimError('sxp', 'must be a number');
        }
        const carried = Object.fromEntries(
          Object.entries(claims).filter(([name]) => !RESERVED_CLAIMS.has(name)),
        );
        throwIfAborted(refreshOptions.signal);
        const subject = claims.sub as string;
        const sessionId = claims.ssid as string;
        const now = clock.now();
        const sessionEnd = claims.sxp * 1000;
        const { refreshExp, ttlMs } = refreshWindow(now, sessionEnd);
        if (refreshExp * 1000 <= now) throw new TokenExpiredError();
        const nextId = randomId();
        // Mint before rotating: the rotation keeps the (sealed) pair for a retry.
        const pair = await mint({
          subject,
          sessionId,
          refreshId: nextId,
          claims: newClaims ?? carried,
          userAgent: refreshOptions.userAgent,
          now,
          refreshExp,
          sessionEnd,
        });
        const presented = refreshToken as string;
        const result = await storeCall('rotate', () =>
          store.rotate({
            sessionId,
            subject,
            presentedId: claims.jti as string,
            nextId,
            ttlMs,
            now,
            ...(o.reuseGraceMs > 0 && {
              graceMs: o.reuseGraceMs,
              successor: sealSuccessor(pair, presented),
            }),
          }),
        );
        if (typeof result === 'object') {
          // A retry of a rotation whose answer was lost: the same successor pair again.
          const previous = openSuccessor(result.successor, presented);
          if (previous === undefined) throw new RefreshTokenReusedError(sessionId);
          if (events.has('refreshed')) events.emit('refreshed', { subject, sessionId });
          return { ...previous, sessionId };
        }
        if (result === 'reused') {
          if (events.has('reuseDetected')) events.emit('reuseDetected', { subject, sessionId });
          throw new RefreshTokenReusedError(sessionId);
        }
        if (result !== 'rotated') throw sessionError(result, sessionId, subject);
        if (events.has('refreshed')) events.emit('refreshed', { subject, sessionId });
        return pair;
      } catch (err) {
        return reject('refresh', err);
      }
    },

    async logout(sessionId) {
      checkSessionId(sessionId);
      const revoked = await storeCall('revoke', () => store.revoke(sessionId, clock.now()));
      if (revoked && events.has('loggedOut')) events.emit('loggedOut', { sessionId });
      return revoked;
    },

    async logoutAll(subject) {
      checkSubject(subject);
      const sessions = await storeCall('revokeAll', () => store.revokeAll(subject, clock.now()));
      if (events.has('loggedOutAll')) events.emit('loggedOutAll', { subject, sessions });
      return sessions;
    },

    async ban(subject, banOptionsArg) {
      checkSubject(subject);
      const { ttlMs } = checkCallOptions<{ ttlMs?: number }>(banOptionsArg);
      if (ttlMs !== undefined && !(Number.isInteger(ttlMs) && ttlMs > 0)) {
        throw new InvalidArgumentError('ttlMs', 'must be a positive integer');
      }
      const sessions = await storeCall('ban', () => store.ban(subject, ttlMs, clock.now()));
      if (events.has('banned')) events.emit('banned', { subject, sessions });
      return sessions;
    },

    async unban(subject) {
      checkSubject(subject);
      const lifted = await storeCall('unban', () => store.unban(subject));
      if (lifted && events.has('unbanned')) events.emit('unbanned', { subject });
      return lifted;
    },

    async isBanned(subject) {
      checkSubject(subject);
      return storeCall('isBanned', () => store.isBanned(subject, clock.now()));
    },

    jwks: () => ring.jwks(),
  };
}
