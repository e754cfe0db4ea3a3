import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { type Clock, parseOptions } from '../core/index.js';
import { checkJsonObject } from './claims.js';
import { OAuthStateMismatchError, TokenMissingError } from './errors.js';
import { type JwtCheck, signJwt, verifyJwt } from './jws.js';
import { KeyRing, type KeySpec, keyListSchema } from './keys.js';
import { clockOption } from './options.js';

/**
 * Header `typ` of OAuth state cookies (`oauth-state+jwt`): never accepted as an access
 * or refresh token.
 *
 * @example
 * ```ts
 * import { decodeProtectedHeader } from 'jose';
 * import { OAUTH_STATE_TYPE } from 'girder/jwt';
 *
 * decodeProtectedHeader(cookie).typ === OAUTH_STATE_TYPE; // true
 * ```
 */
export const OAUTH_STATE_TYPE = 'oauth-state+jwt';

/** Options of {@link oauthState}. Durations in milliseconds. */
export interface OAuthStateOptions {
  /** Name for logs and metrics. Default `oauthState`. */
  name?: string;
  /** Keys that sign the state cookie (same shape as the token service's; may be the same keys). */
  keys: KeySpec[];
  /** How long the user has to come back from the provider. Default 10 minutes. */
  ttlMs?: number;
  /** Name of the state cookie. Default `girder_oauth_state`. */
  cookieName?: string;
  /** `Path` of the cookie: your callback route, so it is sent nowhere else. Default `/`. */
  cookiePath?: string;
  /** Mark the cookie `Secure` (HTTPS only). Default `true`; turn off for plain-HTTP local development only. */
  secureCookie?: boolean;
  /** Time source. Default `systemClock`. */
  clock?: Clock;
}

/** A new OAuth state, from {@link OAuthStateService.create}. */
export interface OAuthState {
  /** The random value to put in the provider's authorization URL as `state`. */
  readonly state: string;
  /** The signed cookie value binding `state` to this browser. */
  readonly cookie: string;
  /** A complete `Set-Cookie` header value (HttpOnly, SameSite=Lax, Max-Age = ttlMs). */
  readonly setCookie: string;
  /** When the state expires, ms since the epoch. */
  readonly expiresAt: number;
}

/** Creates and checks OAuth `state` values bound to a cookie. See {@link oauthState}. */
export interface OAuthStateService {
  /** A new state and the cookie that binds it to the browser; `data` (e.g. where to return) rides in the cookie. */
  create(data?: Record<string, unknown>): Promise<OAuthState>;
  /**
   * Check the `state` query parameter of the callback against the state cookie.
   * Resolves the `data` given to `create`; rejects with `TOKEN_MISSING` (no state or
   * cookie), `OAUTH_STATE_MISMATCH`, or the cookie's own token error (`TOKEN_EXPIRED`,
   * `TOKEN_INVALID`, `TOKEN_TYPE`, ...).
   */
  verify(state: string | undefined, cookie: string | undefined): Promise<Record<string, unknown>>;
  /** The cookie's name. */
  readonly cookieName: string;
  /** A `Set-Cookie` header value that deletes the cookie: send it from the callback. */
  readonly clearCookie: string;
}

const schema = z.strictObject({
  name: z.string().min(1).default('oauthState'),
  keys: keyListSchema,
  ttlMs: z
    .number()
    .int()
    .min(1000)
    .max(24 * 3_600_000)
    .default(10 * 60_000),
  cookieName: z
    .string()
    .regex(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/, 'must be a valid cookie name')
    .default('girder_oauth_state'),
  cookiePath: z
    .string()
    .regex(/^\/[^;\s]*$/, 'must start with / and contain no ; or spaces')
    .default('/'),
  secureCookie: z.boolean().default(true),
  clock: clockOption,
});

const stateHash = (state: string) => createHash('sha256').update(state).digest();

/**
 * OAuth `state` helper, the CSRF defence of an OAuth / WeChat-style login: `create()`
 * makes a random `state` for the authorization URL and a short-lived signed cookie
 * holding its hash; on the callback, `verify(query.state, cookie)` proves the browser
 * coming back is the one that left. Without it an attacker can make a victim's browser
 * complete the attacker's login (and bind the attacker's account).
 *
 * The cookie is `HttpOnly`, `SameSite=Lax` (it must survive the provider's top-level
 * redirect back, which `Strict` would drop) and `Secure` by default. Clear it on the
 * callback with {@link OAuthStateService.clearCookie}.
 *
 * @example
 * ```ts
 * import { readCookie } from 'girder/http';
 * import { oauthState } from 'girder/jwt';
 *
 * const states = oauthState({ keys, cookiePath: '/oauth2/wechat/callback' });
 *
 * app.get('/oauth2/wechat/authurl', async (request, reply) => {
 *   const { state, setCookie } = await states.create({ returnTo: '/account' });
 *   reply.header('set-cookie', setCookie);
 *   return { url: `https://open.weixin.qq.com/connect/qrconnect?appid=${appId}&state=${state}` };
 * });
 *
 * app.get('/oauth2/wechat/callback', async (request, reply) => {
 *   const cookie = readCookie(request.headers.cookie, states.cookieName);
 *   const { returnTo } = await states.verify(request.query.state, cookie);
 *   reply.header('set-cookie', states.clearCookie);
 *   // ... exchange request.query.code with the provider, then issue tokens
 * });
 * ```
 */
export function oauthState(options: OAuthStateOptions): OAuthStateService {
  const o = parseOptions('oauthState', schema, options);
  const ring = new KeyRing(o.keys);
  ring.ready().catch(() => {});
  const check: JwtCheck = {
    typ: OAUTH_STATE_TYPE,
    required: ['sth', 'exp'],
    maxLength: 4096,
    toleranceSeconds: 0,
  };
  const attributes = (maxAgeSeconds: number) =>
    `Max-Age=${maxAgeSeconds}; Path=${o.cookiePath}; HttpOnly; SameSite=Lax${o.secureCookie ? '; Secure' : ''}`;

  return {
    cookieName: o.cookieName,
    clearCookie: `${o.cookieName}=; ${attributes(0)}`,

    async create(data) {
      const payload = data === undefined ? {} : checkJsonObject('data', data);
      const now = o.clock.now();
      const state = randomBytes(24).toString('base64url');
      const exp = Math.floor((now + o.ttlMs) / 1000);
      const cookie = await signJwt(
        ring,
        {
          sth: stateHash(state).toString('base64url'),
          dat: payload,
          iat: Math.floor(now / 1000),
          exp,
        },
        OAUTH_STATE_TYPE,
      );
      return {
        state,
        cookie,
        setCookie: `${o.cookieName}=${cookie}; ${attributes(Math.floor(o.ttlMs / 1000))}`,
        expiresAt: exp * 1000,
      };
    },

    async verify(state, cookie) {
      if (typeof state !== 'string' || state.length === 0 || !cookie) throw new TokenMissingError();
      const payload = await verifyJwt(ring, cookie, check, o.clock.now());
      const expected =
        typeof payload.sth === 'string' ? Buffer.from(payload.sth, 'base64url') : null;
      const actual = stateHash(state);
      if (
        expected === null ||
        expected.length !== actual.length ||
        !timingSafeEqual(expected, actual)
      ) {
        throw new OAuthStateMismatchError();
      }
      const data = payload.dat;
      return typeof data === 'object' && data !== null ? (data as Record<string, unknown>) : {};
    },
  };
}
