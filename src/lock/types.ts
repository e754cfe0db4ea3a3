// The lock contract every backend (memory, Redis, etcd) implements. Backends differ in
// how they wait and renew; callers see only these types.
import type { Backoff, Clock, EventSource } from '../core/index.js';

/**
 * Per-call options of {@link Locker.acquire}, {@link Locker.tryAcquire} and
 * {@link Locker.using}. Anything left out falls back to the locker's defaults.
 *
 * @example
 * ```ts
 * const lock = await locker.acquire('order:42', { ttlMs: 10_000, waitMs: 2_000 });
 * ```
 */
export interface AcquireOptions {
  /** How long the lock lives without a renewal. Default: the locker's `ttlMs`. */
  ttlMs?: number;
  /**
   * How long to wait for a busy lock before failing with `LockTimeoutError`.
   * 0 means try once. Default: the locker's `waitMs`.
   */
  waitMs?: number;
  /**
   * Delays between attempts while waiting, for backends that poll (memory notifies,
   * etcd watches). Default: the locker's `retry`.
   */
  retry?: Backoff;
  /** Aborting stops the wait at once (`AbortedError`) and leaves nothing behind. */
  signal?: AbortSignal;
  /** Renew automatically while held. Default: the locker's `watchdog`. */
  watchdog?: WatchdogOptions | false;
}

/**
 * Automatic renewal of a held lock.
 *
 * @example
 * ```ts
 * const locker = memoryLock({ watchdog: { renewAtFraction: 0.5 } });
 * ```
 */
export interface WatchdogOptions {
  /**
   * Renew when this fraction of the TTL has passed since the last renewal
   * (0 < f < 1). Default 1/3, which leaves two more tries before the TTL runs out.
   */
  renewAtFraction?: number;
}

/**
 * A held lock. Its `signal` aborts (with a `LockLostError` as reason) as soon as the
 * holder can no longer be sure it holds the lock: the server says so, a renewal is
 * refused, or the local deadline (TTL minus clock drift and a safety margin, measured on
 * a monotonic clock since the last confirmed renewal) passes. Async-disposable:
 * `await using lock = await locker.acquire(key)` releases it on scope exit.
 *
 * @example
 * ```ts
 * const lock = await locker.acquire('stock:sku-1');
 * try {
 *   await fenced.write('stock:sku-1', lock.fence, '41');
 * } finally {
 *   await lock.release();
 * }
 * ```
 */
export interface Lock extends AsyncDisposable {
  /** The key, as passed to `acquire`. */
  readonly key: string;
  /**
   * Unique to this acquisition (the locker's random 96-bit prefix and a counter);
   * release and extend check it on the server.
   */
  readonly token: string;
  /**
   * Strictly increases per key across every holder, forever (Redis: a counter next to
   * the lock; etcd: the key's create revision). Hand it to a fenced resource.
   */
  readonly fence: number;
  /** Aborts when the lock is lost or may be lost. Its reason is a `LockLostError`. */
  readonly signal: AbortSignal;
  /** False once released, lost or past the local deadline. */
  readonly held: boolean;
  /**
   * Renew the lock for `ttlMs` (default: the TTL it was acquired with). Rejects with
   * `LockLostError` when the lock is gone or held by someone else.
   */
  extend(ttlMs?: number): Promise<void>;
  /**
   * Release the lock: resolves true when this holder still held it and now does not,
   * false when it had already been lost (expired, taken over). Never deletes another
   * holder's lock, and never hangs: it gives up after the locker's `releaseTimeoutMs`
   * (the TTL then frees the key).
   */
  release(): Promise<boolean>;
}

/**
 * Acquires locks on one backend. Create one with `memoryLock`, `redisLock` or
 * `etcdLock`; they behave alike, which one contract suite checks.
 *
 * @example
 * ```ts
 * import { redisLock } from 'girder/lock';
 *
 * const locker = redisLock(redis, { prefix: 'shop' });
 * await locker.using('order:42', async (signal, lock) => {
 *   await settleOrder(42, { signal, fence: lock.fence });
 * });
 * ```
 */
export interface Locker extends AsyncDisposable {
  /** From the `name` option; labels events and metrics. */
  readonly name: string;
  /** Typed events: acquired, extended, extendFailed, lost, released, contended, timeout. */
  readonly events: EventSource<LockEvents>;
  /**
   * Acquire `key`, waiting up to `waitMs`. Rejects with `LockTimeoutError` when the wait
   * runs out, `AbortedError` when `signal` aborts.
   */
  acquire(key: string, options?: AcquireOptions): Promise<Lock>;
  /** One attempt, no waiting: the lock, or `undefined` when someone else holds it. */
  tryAcquire(
    key: string,
    options?: Omit<AcquireOptions, 'waitMs' | 'retry'>,
  ): Promise<Lock | undefined>;
  /**
   * Acquire, run `work`, release (in `finally`, even when `work` throws). `work`'s
   * signal aborts when the lock is lost or when the caller's `signal` aborts.
   */
  using<T>(
    key: string,
    work: (signal: AbortSignal, lock: Lock) => T | PromiseLike<T>,
    options?: AcquireOptions,
  ): Promise<Awaited<T>>;
  /**
   * The locks this locker holds now (acquired, not released, not lost, local deadline
   * not passed), oldest first: a snapshot for ops pages and debugging.
   */
  held(): HeldLockInfo[];
  /** Release every lock this locker still holds and stop its timers. */
  close(): Promise<void>;
}

/**
 * One lock listed by {@link Locker.held}. Times are milliseconds since the epoch on the
 * locker's `clock` (`Date.now()` by default), converted from the monotonic times the
 * lock keeps.
 *
 * @example
 * ```ts
 * for (const { key, fence, acquiredAt, expiresAt } of locker.held()) {
 *   console.log(key, fence, new Date(acquiredAt), `${expiresAt - Date.now()} ms left`);
 * }
 * ```
 */
export interface HeldLockInfo {
  /** The key, as passed to `acquire`. */
  readonly key: string;
  /** The holder's fence. */
  readonly fence: number;
  /** When the attempt that got the lock started. */
  readonly acquiredAt: number;
  /**
   * The local deadline: when this holder stops trusting the lock (its `signal` aborts)
   * unless a renewal is confirmed first. The server keeps the key a little longer.
   */
  readonly expiresAt: number;
  /** The TTL of the last confirmed acquisition or renewal, ms. */
  readonly ttlMs: number;
  /** Renewals confirmed so far (watchdog and `extend`). */
  readonly renewals: number;
}

/** Options every locker factory accepts. */
export interface LockerOptions {
  /** Labels events and metrics. Default `'lock'`. */
  name?: string;
  /** Default TTL. Default 30 000 ms. */
  ttlMs?: number;
  /** Default wait. Default 0 (try once). */
  waitMs?: number;
  /** Default delays between attempts while waiting. Default: exponential 10 ms to 500 ms, full jitter. */
  retry?: Backoff;
  /** Default renewal. Default `{ renewAtFraction: 1/3 }`; `false` turns it off. */
  watchdog?: WatchdogOptions | false;
  /** Clock drift allowance as a fraction of the TTL. Default 0.01. */
  driftFactor?: number;
  /** Extra safety margin subtracted from the local deadline. Default 10 ms. */
  marginMs?: number;
  /** Give up releasing after this long (the TTL frees the key). Default 2 000 ms. */
  releaseTimeoutMs?: number;
  /** Time source for deadlines and timers. Default `systemClock`. */
  clock?: Clock;
}

/** Why a lock was lost. */
export type LockLossReason =
  /** The local deadline passed without a confirmed renewal. */
  | 'deadline'
  /** A renewal found the lock gone or held by another token. */
  | 'expired'
  /** The backend session (etcd lease) ended. */
  | 'session'
  /** The locker was closed while the lock was held. */
  | 'closed';

/**
 * Events of a {@link Locker}. Durations are in milliseconds.
 *
 * @example
 * ```ts
 * locker.events.on('lost', ({ key, reason, heldMs }) => log.warn({ key, reason, heldMs }, 'lock lost'));
 * ```
 */
export type LockEvents = {
  /** A lock was acquired after waiting `waitedMs`. */
  acquired: {
    /** The lock's key. */
    key: string;
    /** The new holder's fence. */
    fence: number;
    /** From the call to the grant, ms. */
    waitedMs: number;
  };
  /** An attempt found the lock busy (one per attempt while waiting). */
  contended: {
    /** The busy key. */
    key: string;
  };
  /** The wait ran out. */
  timeout: {
    /** The key that stayed busy. */
    key: string;
    /** How long the caller waited, ms. */
    waitedMs: number;
  };
  /** A renewal (watchdog or `extend`) succeeded. */
  extended: {
    /** The lock's key. */
    key: string;
    /** The lock's fence. */
    fence: number;
    /** The TTL the renewal set, ms. */
    ttlMs: number;
  };
  /** A renewal failed for a transient reason; the lock may still be held. */
  extendFailed: {
    /** The lock's key. */
    key: string;
    /** The lock's fence. */
    fence: number;
    /** What the backend failed with (e.g. `RedisUnavailableError`). */
    error: unknown;
  };
  /** The lock was lost while held. */
  lost: {
    /** The lock's key. */
    key: string;
    /** The lock's fence. */
    fence: number;
    /** Why it was lost. */
    reason: LockLossReason;
    /** From the grant to the loss, ms. */
    heldMs: number;
  };
  /** The holder released it. */
  released: {
    /** The lock's key. */
    key: string;
    /** The lock's fence. */
    fence: number;
    /** From the grant to the release, ms. */
    heldMs: number;
  };
};
