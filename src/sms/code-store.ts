// Where verification codes live: one record per (purpose, phone) holding the code's
// hash, its expiry, the wrong guesses left and when it was sent (the resend cooldown).
// Both backends run the same two steps, each atomic: `issue` and `check`.
import { timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { type Clock, clockSchema, parseOptions, systemClock } from '../core/index.js';

/**
 * Limits of one `issue`.
 *
 * @example
 * ```ts
 * const limits: CodeLimits = { ttlMs: 600_000, resendAfterMs: 60_000, maxAttempts: 3 };
 * ```
 */
export interface CodeLimits {
  /** How long the code is valid, ms. */
  readonly ttlMs: number;
  /** How long before another code may be issued for the same key, ms. */
  readonly resendAfterMs: number;
  /** Wrong guesses allowed; the last one burns the code. */
  readonly maxAttempts: number;
}

/**
 * What `issue` answered: stored, or refused because the last code is too recent.
 *
 * @example
 * ```ts
 * const outcome: IssueOutcome = await store.issue(key, hash, limits);
 * if (!outcome.issued) console.log(outcome.retryAfterMs);
 * ```
 */
export type IssueOutcome =
  | {
      /** The code was stored. */
      readonly issued: true;
      /** When it expires, ms since the epoch (the store's clock). */
      readonly expiresAt: number;
    }
  | {
      /** Refused: the last code is too recent. */
      readonly issued: false;
      /** How long until a new code may be issued, ms. */
      readonly retryAfterMs: number;
    };

/**
 * What `check` answered for a candidate hash.
 *
 * @example
 * ```ts
 * const outcome: CheckOutcome = await store.check(key, hash);
 * if (outcome.status === 'invalid') console.log(outcome.attemptsLeft);
 * ```
 */
export type CheckOutcome =
  | {
      /** The code matched and is now used up. */
      readonly status: 'ok';
    }
  | {
      /** The code did not match; one attempt was spent. */
      readonly status: 'invalid';
      /** Wrong guesses still allowed. */
      readonly attemptsLeft: number;
    }
  | {
      /** No code for this key (never sent, used, or forgotten). */
      readonly status: 'none';
    }
  | {
      /** The code is burnt by too many wrong guesses. */
      readonly status: 'exceeded';
    }
  | {
      /** The code's ttl has passed. */
      readonly status: 'expired';
    };

/**
 * Storage of `codeService`: `memoryCodeStore()` (one process) or `redisCodeStore(client)`
 * (shared by every instance). Each method is one atomic step.
 *
 * @example
 * ```ts
 * import { codeService, memoryCodeStore } from 'girder/sms';
 *
 * const store: CodeStore = memoryCodeStore();
 * const codes = codeService({ sms, store, template: 'login_code' });
 * ```
 */
export interface CodeStore {
  /** `memory` or `redis`. */
  readonly kind: string;
  /**
   * Store `hash` as the key's code unless one was issued less than `resendAfterMs` ago.
   * Replaces any older code (and resets the wrong-guess count).
   */
  issue(key: string, hash: string, limits: CodeLimits): Promise<IssueOutcome>;
  /** Forget the key's code if it is still `hash` (its SMS could not be sent). */
  revoke(key: string, hash: string): Promise<void>;
  /**
   * Compare `hash` with the key's code: `ok` uses it up; a mismatch costs one attempt and
   * the last allowed one burns the code (`exceeded`).
   */
  check(key: string, hash: string): Promise<CheckOutcome>;
  /** Release the store's timers (not the client it was given). */
  close(): Promise<void>;
  /** Same as `close()`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * How long a record is kept: past its expiry for as long again (so a late verify hears
 * CODE_EXPIRED rather than CODE_INVALID), and at least for the resend cooldown.
 *
 * @internal
 */
export const keepMs = (limits: CodeLimits) => Math.max(2 * limits.ttlMs, limits.resendAfterMs);

interface Entry {
  hash: string; // '' once used or burnt
  sentAt: number;
  expiresAt: number;
  attemptsLeft: number;
  keepUntil: number;
}

const memorySchema = z.strictObject({ clock: clockSchema.default(systemClock) });

/** Sweep expired records every this many issues, so abandoned keys do not pile up. */
const SWEEP_EVERY = 1024;

/**
 * Options of {@link memoryCodeStore}.
 *
 * @example
 * ```ts
 * const options: MemoryCodeStoreOptions = { clock: manualClock() };
 * ```
 */
export interface MemoryCodeStoreOptions {
  /** Time source. Default `systemClock`. */
  clock?: Clock;
}

/**
 * A {@link CodeStore} in this process's memory: the embedded default, for one instance
 * and for tests (with a manual clock). Hashes are compared with `timingSafeEqual`.
 *
 * @example
 * ```ts
 * import { codeService, memoryCodeStore, memorySms } from 'girder/sms';
 *
 * const codes = codeService({ sms: memorySms(), store: memoryCodeStore(), template: 'login' });
 * ```
 */
export function memoryCodeStore(options: MemoryCodeStoreOptions = {}): CodeStore {
  const { clock } = parseOptions('memoryCodeStore', memorySchema, options);
  const entries = new Map<string, Entry>();
  let issues = 0;

  const sweep = (now: number) => {
    for (const [key, entry] of entries) if (entry.keepUntil <= now) entries.delete(key);
  };
  const live = (key: string, now: number) => {
    const entry = entries.get(key);
    if (entry !== undefined && entry.keepUntil <= now) {
      entries.delete(key);
      return undefined;
    }
    return entry;
  };

  const store: CodeStore = {
    kind: 'memory',
    async issue(key, hash, limits) {
      const now = clock.now();
      if (++issues % SWEEP_EVERY === 0) sweep(now);
      const entry = live(key, now);
      if (entry !== undefined && now - entry.sentAt < limits.resendAfterMs) {
        return { issued: false, retryAfterMs: limits.resendAfterMs - (now - entry.sentAt) };
      }
      const expiresAt = now + limits.ttlMs;
      entries.set(key, {
        hash,
        sentAt: now,
        expiresAt,
        attemptsLeft: limits.maxAttempts,
        keepUntil: now + keepMs(limits),
      });
      return { issued: true, expiresAt };
    },
    async revoke(key, hash) {
      const entry = entries.get(key);
      if (entry !== undefined && entry.hash !== '' && sameHash(entry.hash, hash))
        entries.delete(key);
    },
    async check(key, hash) {
      const now = clock.now();
      const entry = live(key, now);
      if (entry === undefined) return { status: 'none' };
      if (entry.hash === '')
        return entry.attemptsLeft <= 0 ? { status: 'exceeded' } : { status: 'none' };
      if (now >= entry.expiresAt) return { status: 'expired' };
      if (sameHash(entry.hash, hash)) {
        entry.hash = ''; // single use; the record stays for the resend cooldown
        return { status: 'ok' };
      }
      entry.attemptsLeft -= 1;
      if (entry.attemptsLeft <= 0) {
        entry.hash = '';
        return { status: 'exceeded' };
      }
      return { status: 'invalid', attemptsLeft: entry.attemptsLeft };
    },
    async close() {
      entries.clear();
    },
    async [Symbol.asyncDispose]() {
      entries.clear();
    },
  };
  return store;
}

function sameHash(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  return left.length === right.length && timingSafeEqual(left, right);
}
