import { createHash, randomBytes } from 'node:crypto';
import { addTo, removeFrom } from './multimap.js';

/**
 * What the store knows of a session: `active`; `revoked` (logged out, or killed by
 * refresh-token reuse); `banned` (its subject was banned while it was alive); or
 * `missing` (never existed, expired, or lost with the store's data — treated as revoked).
 */
export type SessionState = 'active' | 'revoked' | 'banned' | 'missing';

/**
 * Outcome of a refresh-token rotation: `rotated` (the presented refresh id was the
 * current one and is replaced), `reused` (it was an older one: the session is now
 * revoked), or the session's state when it was not active. A presentation of the
 * refresh id the last rotation replaced, within that rotation's grace, is a
 * {@link RotateReplay} instead of `reused`.
 */
export type RotateResult = 'rotated' | 'reused' | 'revoked' | 'banned' | 'missing';

/**
 * The presented refresh id is the one the last rotation replaced, and that rotation's
 * `graceMs` has not run out: nothing changes, and the store hands back the
 * `successor` it kept with the rotation (a retry of a refresh whose answer was lost).
 */
export interface RotateReplay {
  /** Always `replayed`. */
  readonly result: 'replayed';
  /** The opaque `successor` given to the rotation being replayed. */
  readonly successor: string;
}

/** A session to create. */
export interface NewSession {
  /** The session id (`ssid` claim), from the token service. */
  readonly sessionId: string;
  /** Whose session. */
  readonly subject: string;
  /** `jti` of the refresh token that may rotate it next. */
  readonly refreshId: string;
  /** How long the session lives unless rotated: until its refresh token expires. */
  readonly ttlMs: number;
  /** Current time (ms since the epoch) on the token service's clock. */
  readonly now: number;
}

/** A refresh-token rotation request. */
export interface Rotation {
  /** The session. */
  readonly sessionId: string;
  /** Its subject (for the ban check). */
  readonly subject: string;
  /** `jti` of the refresh token presented. */
  readonly presentedId: string;
  /** `jti` of the refresh token that replaces it. */
  readonly nextId: string;
  /** New lifetime of the session: until the new refresh token expires. */
  readonly ttlMs: number;
  /** Current time on the token service's clock. */
  readonly now: number;
  /**
   * For how long (ms from `now`) presenting `presentedId` again answers
   * {@link RotateReplay} with `successor` instead of `reused`. Absent or `0`: never.
   */
  readonly graceMs?: number;
  /** Opaque value (the sealed successor pair) to hand back on a replay within `graceMs`. */
  readonly successor?: string;
}

/**
 * Where sessions, their revocations and subject bans live. girder ships
 * {@link memorySessionStore} (one process) and `redisSessionStore` (shared by every
 * instance). Every revocation entry expires with the session it blocks, i.e. when the
 * session's last refresh token would have. All methods may reject when the backend is
 * unreachable; the token service turns that into `SESSION_STORE_UNAVAILABLE`.
 *
 * @example
 * ```ts
 * import { memorySessionStore, tokenService } from 'girder/jwt';
 *
 * const tokens = tokenService({ keys, sessionStore: memorySessionStore() });
 * ```
 */
export interface SessionStore {
  /** Create a session, atomically with the ban check; resolves `false` when the subject is banned. */
  create(session: NewSession): Promise<boolean>;
  /** The state of a session: the per-request check, one round trip at most. */
  check(sessionId: string, now: number): Promise<SessionState>;
  /**
   * Rotate the session's refresh id if `presentedId` is current; hand back the kept
   * successor if it is the one just replaced and within the grace; otherwise revoke the
   * session (reuse).
   */
  rotate(rotation: Rotation): Promise<RotateResult | RotateReplay>;
  /** Revoke one session; resolves `true` when it was active. */
  revoke(sessionId: string, now: number): Promise<boolean>;
  /** Revoke every active session of a subject; resolves how many were. */
  revokeAll(subject: string, now: number): Promise<number>;
  /**
   * Ban a subject for `ttlMs` (or until unbanned when undefined): new sessions and
   * rotations are refused, and its active sessions become `banned`. Resolves how many
   * sessions that ended.
   */
  ban(subject: string, ttlMs: number | undefined, now: number): Promise<number>;
  /** Lift a ban; resolves `true` when there was one. Sessions ended by the ban stay ended. */
  unban(subject: string): Promise<boolean>;
  /** Whether the subject is banned right now. */
  isBanned(subject: string, now: number): Promise<boolean>;
  /** Release what the store holds (timers, connections it opened itself). */
  close(): Promise<void>;
}

/**
 * Length of the subject tag that starts every session id (base64url characters).
 *
 * @internal
 */
export const SESSION_TAG_LENGTH = 8;
const SESSION_ID = /^[A-Za-z0-9_-]{30}$/;

/**
 * The 8-character tag of a subject: a hash prefix that every session id of the
 * subject starts with, so the Redis store can keep a subject's keys in one cluster
 * slot and still find a session from its id alone.
 *
 * @internal
 */
export function subjectTag(subject: string): string {
  return createHash('sha256').update(subject).digest('base64url').slice(0, SESSION_TAG_LENGTH);
}

/**
 * A new session id: the subject's tag followed by 128 random bits (30 characters).
 *
 * @internal
 */
export function newSessionId(subject: string): string {
  return subjectTag(subject) + randomBytes(16).toString('base64url');
}

/**
 * True when `value` has the shape of a session id girder issues.
 *
 * @internal
 */
export function isSessionId(value: unknown): value is string {
  return typeof value === 'string' && SESSION_ID.test(value);
}

interface MemorySession {
  readonly subject: string;
  refreshId: string;
  state: 'active' | 'revoked' | 'banned';
  expiresAt: number;
  /** The refresh id the last rotation replaced, until when it may replay, and what it gets. */
  previous?: { readonly id: string; readonly until: number; readonly successor: string };
}

/**
 * In-process session store: the embedded default. Correct for a single process only —
 * a logout on one instance is invisible to another; use `redisSessionStore` when you
 * run more than one. Expired entries are dropped lazily and swept as the map grows.
 *
 * @example
 * ```ts
 * import { memorySessionStore, tokenService } from 'girder/jwt';
 *
 * const tokens = tokenService({ keys, sessionStore: memorySessionStore() });
 * ```
 */
export function memorySessionStore(): SessionStore & AsyncDisposable {
  const sessions = new Map<string, MemorySession>();
  const bySubject = new Map<string, Set<string>>();
  const bans = new Map<string, number>();
  let sweepAt = 1024;

  const live = (sessionId: string, now: number): MemorySession | undefined => {
    const session = sessions.get(sessionId);
    if (session !== undefined && session.expiresAt <= now) {
      forget(sessionId, session);
      return undefined;
    }
    return session;
  };
  const forget = (sessionId: string, session: MemorySession) => {
    sessions.delete(sessionId);
    removeFrom(bySubject, session.subject, sessionId);
  };
  const banned = (subject: string, now: number): boolean => {
    const until = bans.get(subject);
    if (until === undefined) return false;
    if (until > now) return true;
    bans.delete(subject);
    return false;
  };
  const sweep = (now: number) => {
    for (const [id, session] of sessions) if (session.expiresAt <= now) forget(id, session);
    for (const [subject, until] of bans) if (until <= now) bans.delete(subject);
    sweepAt = Math.max(1024, sessions.size * 2);
  };
  const endAll = (subject: string, state: 'revoked' | 'banned', now: number): number => {
    let ended = 0;
    for (const id of bySubject.get(subject) ?? []) {
      const session = live(id, now);
      if (session?.state === 'active') {
        session.state = state;
        ended++;
      }
    }
    return ended;
  };

  return {
    async create({ sessionId, subject, refreshId, ttlMs, now }) {
      if (banned(subject, now)) return false;
      if (sessions.size >= sweepAt) sweep(now);
      sessions.set(sessionId, { subject, refreshId, state: 'active', expiresAt: now + ttlMs });
      addTo(bySubject, subject, sessionId);
      return true;
    },
    async check(sessionId, now) {
      return live(sessionId, now)?.state ?? 'missing';
    },
    async rotate({ sessionId, subject, presentedId, nextId, ttlMs, now, graceMs, successor }) {
      const session = live(sessionId, now);
      if (session === undefined) return 'missing';
      if (session.state !== 'active') return session.state;
      if (banned(subject, now)) {
        session.state = 'banned';
        return 'banned';
      }
      if (session.refreshId !== presentedId) {
        const previous = session.previous;
        if (previous?.id === presentedId && now < previous.until) {
          return { result: 'replayed', successor: previous.successor };
        }
        session.state = 'revoked';
        return 'reused';
      }
      session.previous =
        graceMs && successor !== undefined
          ? { id: presentedId, until: now + graceMs, successor }
          : undefined;
      session.refreshId = nextId;
      session.expiresAt = now + ttlMs;
      return 'rotated';
    },
    async revoke(sessionId, now) {
      const session = live(sessionId, now);
      if (session?.state !== 'active') return false;
      session.state = 'revoked';
      return true;
    },
    async revokeAll(subject, now) {
      return endAll(subject, 'revoked', now);
    },
    async ban(subject, ttlMs, now) {
      bans.set(subject, ttlMs === undefined ? Number.POSITIVE_INFINITY : now + ttlMs);
      return endAll(subject, 'banned', now);
    },
    async unban(subject) {
      return bans.delete(subject);
    },
    async isBanned(subject, now) {
      return banned(subject, now);
    },
    async close() {
      sessions.clear();
      bySubject.clear();
      bans.clear();
    },
    async [Symbol.asyncDispose]() {
      await this.close();
    },
  };
}
