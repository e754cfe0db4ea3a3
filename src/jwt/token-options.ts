import { z } from 'zod';
import type { Clock } from '../core/index.js';
import { type KeySpec, keyListSchema } from './keys.js';
import { clockOption } from './options.js';
import type { SessionStore } from './session-store.js';

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
/** Longest duration any option accepts: ten years. */
const MAX_DURATION_MS = 3650 * DAY;

/**
 * Longest token `verifyAccess` and `refresh` accept by default, and so the largest
 * `issue` / `refresh` will sign: 8,192 characters.
 */
export const DEFAULT_MAX_TOKEN_LENGTH = 8192;

/** Options of {@link tokenService}. Durations are in milliseconds. */
export interface TokenServiceOptions {
  /** Signing and verification keys; the first signs, all verify (see {@link KeySpec}). */
  keys: KeySpec[];
  /** Name for logs and metrics. Default `tokens`. */
  name?: string;
  /** Access token lifetime. Default 30 minutes. */
  accessTtlMs?: number;
  /** Refresh token lifetime; each rotation starts a new one. Default 7 days. */
  refreshTtlMs?: number;
  /** Absolute session lifetime: rotation never extends a session past it. Default 30 days. */
  maxSessionAgeMs?: number;
  /**
   * How long after a rotation the refresh token it replaced may be presented again
   * and answered with the *same* successor pair instead of counting as reuse, so a
   * client retrying a refresh whose answer it never got (a timeout, a
   * `SESSION_STORE_UNAVAILABLE`, a dropped connection) is not logged out. The
   * successor is stored with the rotation, encrypted under the replaced refresh
   * token. `0` turns it off (any second use is reuse). Default 30 seconds.
   */
  reuseGraceMs?: number;
  /** Where sessions, revocations and bans live. Default {@link memorySessionStore} (one process). */
  sessionStore?: SessionStore;
  /** `iss` claim written and required. Default none. */
  issuer?: string;
  /** `aud` claim written and required (any one of a list). Default none. */
  audience?: string | string[];
  /** Bind tokens to the client's `User-Agent` (a hash of it is a claim). Default `false`. */
  bindUserAgent?: boolean;
  /** Leeway for `exp` / `nbf` against clock skew between instances. Default `0`. */
  clockToleranceMs?: number;
  /**
   * Tokens longer than this are refused unparsed (`TOKEN_INVALID`), and `issue` /
   * `refresh` refuse claims that would make a longer one (`CLAIMS_TOO_LARGE`). Default
   * `8192` characters.
   */
  maxTokenLength?: number;
  /**
   * What `verifyAccess` does when the session store fails: `deny` (default) throws
   * `SESSION_STORE_UNAVAILABLE` (fail closed); `allow` accepts a correctly signed,
   * unexpired token without the revocation check (fail open) and emits `storeError`.
   * `issue`, `refresh` and `logout` always fail when the store does.
   */
  onStoreError?: 'deny' | 'allow';
  /** Time source. Default `systemClock`. */
  clock?: Clock;
}

const duration = (fallback: number) =>
  z.number().int().min(1000).max(MAX_DURATION_MS).default(fallback);

/**
 * zod schema of {@link TokenServiceOptions}.
 *
 * @internal
 */
export const tokenServiceSchema = z
  .strictObject({
    keys: keyListSchema,
    name: z.string().min(1).default('tokens'),
    accessTtlMs: duration(30 * MINUTE),
    refreshTtlMs: duration(7 * DAY),
    maxSessionAgeMs: duration(30 * DAY),
    reuseGraceMs: z
      .number()
      .int()
      .min(0)
      .max(10 * MINUTE)
      .default(30_000),
    sessionStore: z
      .custom<SessionStore>(
        (s) =>
          typeof (s as SessionStore | null)?.check === 'function' &&
          typeof (s as SessionStore).rotate === 'function',
        'must be a SessionStore (memorySessionStore() or redisSessionStore(client))',
      )
      .optional(),
    issuer: z.string().min(1).optional(),
    audience: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
    bindUserAgent: z.boolean().default(false),
    clockToleranceMs: z.number().int().min(0).max(DAY).default(0),
    maxTokenLength: z.number().int().min(256).max(1_000_000).default(DEFAULT_MAX_TOKEN_LENGTH),
    onStoreError: z.enum(['deny', 'allow']).default('deny'),
    clock: clockOption,
  })
  .refine((o) => o.refreshTtlMs >= o.accessTtlMs, {
    path: ['refreshTtlMs'],
    message: 'must not be shorter than accessTtlMs',
  })
  .refine((o) => o.maxSessionAgeMs >= o.refreshTtlMs, {
    path: ['maxSessionAgeMs'],
    message: 'must not be shorter than refreshTtlMs',
  })
  .refine((o) => o.reuseGraceMs < o.refreshTtlMs, {
    path: ['reuseGraceMs'],
    message: 'must be shorter than refreshTtlMs',
  });
