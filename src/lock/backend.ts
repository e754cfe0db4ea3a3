// The small interface a lock backend implements. Everything a backend does not need to
// know (local deadlines, the watchdog, events, waiting, `using`) lives in HeldLock and
// createLocker, so memory, Redis and etcd behave alike by construction.
import type { LockLossReason } from './types.js';

/**
 * @internal
 * What a backend grants on a successful attempt.
 */
export interface LockGrant {
  /** The fence of this acquisition (strictly increasing per key). */
  readonly fence: number;
  /**
   * When the backend last confirmed the lock's TTL (on the settings' clock), if later
   * than the attempt's start: an etcd waiter's lease was granted or kept alive while it
   * queued, so its validity runs from then, not from when it started waiting.
   */
  readonly validFrom?: number;
  /**
   * For backends that learn of a loss by themselves (an etcd lease ending): subscribe
   * `lost`, called at most once, and return the unsubscribe function. HeldLock calls it
   * once it holds the lock and unsubscribes when the lock is released or lost.
   */
  watch?(lost: (reason: LockLossReason, cause?: unknown) => void): () => void;
}

/**
 * @internal
 * One acquisition request of a backend that waits by itself (etcd watches its
 * predecessor) instead of being polled by {@link createLocker}'s loop.
 */
export interface WaitRequest {
  readonly key: string;
  readonly token: string;
  readonly ttlMs: number;
  /** 0: one attempt. */
  readonly waitMs: number;
  /** Aborts when the caller aborts or the locker closes; reject with core `AbortedError` then. */
  readonly signal: AbortSignal;
  /** Call once per attempt that found the lock busy (emits `contended`). */
  readonly contended: () => void;
}

/**
 * @internal
 * A lock backend. Methods reject on transient failures (a store outage); a definite
 * answer ("busy", "not yours any more") is a resolved value.
 */
export interface LockBackend {
  /** `memory`, `redis`, `etcd`, ... */
  readonly kind: string;
  /**
   * When every call of this backend settles within this many ms by itself (a Redis
   * command deadline), releases skip their own `releaseTimeoutMs` timer if it is longer.
   */
  readonly callTimeoutMs?: number;
  /**
   * One attempt: the grant, or `undefined` when another holder has the key. Every
   * attempt of one acquire call uses the same `token`; when the key is already held by
   * `token` (an earlier attempt's reply was lost), grant it again with its fence.
   */
  tryLock(key: string, token: string, ttlMs: number): Promise<LockGrant | undefined>;
  /**
   * Optional: acquire with waiting done by the backend; resolves `undefined` when
   * `waitMs` ran out. When absent, the locker polls `tryLock` with the retry backoff.
   */
  acquire?(request: WaitRequest): Promise<LockGrant | undefined>;
  /**
   * Optional, for polling: resolve when `key` may have become free, or after `ms`;
   * reject with `AbortedError` when `signal` aborts. When absent, the locker sleeps
   * the retry backoff's delay.
   */
  waitFree?(key: string, ms: number, signal: AbortSignal): Promise<void>;
  /**
   * Optional fast path of `tryLock` for a caller that continues with the outcome: the
   * backend hands it straight to `receiver` (the returned promise settles with what the
   * receiver returns), saving a promise layer and its closures per acquire. Use
   * {@link tryLockTo}, which falls back to `tryLock`.
   */
  tryLockTo?<R>(
    key: string,
    token: string,
    ttlMs: number,
    receiver: AttemptReceiver<R>,
  ): Promise<R>;
  /** Set the TTL of a lock still held by `token`: `'lost'` when it is gone or not ours. */
  renew(key: string, token: string, ttlMs: number, fence: number): Promise<'ok' | 'lost'>;
  /** Delete the lock if `token` still holds it: true when it did, false when it was gone. */
  release(key: string, token: string, fence: number): Promise<boolean>;
  /**
   * Optional fast path of `release`, as `tryLockTo` is of `tryLock`: `receiver.releaseSettled`
   * gets the outcome (`undefined` when the call failed). Use {@link releaseTo}.
   */
  releaseTo?<R>(
    key: string,
    token: string,
    fence: number,
    receiver: ReleaseReceiver<R>,
  ): Promise<R>;
  /**
   * Whether a rejection of `tryLock` is transient (an outage): a waiting acquire then
   * retries with the backoff until `waitMs` runs out. Absent: nothing is retried.
   */
  transient?(error: unknown): boolean;
  /** Stop the backend's timers and watches (never the caller's client). */
  close?(): Promise<void>;
}

/**
 * @internal
 * Where one attempt's outcome goes. Neither method may throw: return a rejected promise
 * instead (a throw inside a backend's reply handler would be taken for a bad reply).
 */
export interface AttemptReceiver<R> {
  /** The attempt's answer: a grant, or `undefined` when another holder has the key. */
  granted(grant: LockGrant | undefined): R;
  /** The attempt failed (the backend's error, as `tryLock` would reject with). */
  failed(error: unknown): R;
}

/** @internal Where a release's outcome goes: deleted, gone (false), or unknown (failed). */
export interface ReleaseReceiver<R> {
  releaseSettled(deleted: boolean | undefined): R;
}

/** @internal `backend.tryLockTo`, or `tryLock` followed by the receiver. */
export function tryLockTo<R>(
  backend: LockBackend,
  key: string,
  token: string,
  ttlMs: number,
  receiver: AttemptReceiver<R>,
): Promise<R> {
  if (backend.tryLockTo !== undefined) return backend.tryLockTo(key, token, ttlMs, receiver);
  let attempt: Promise<LockGrant | undefined>;
  try {
    attempt = backend.tryLock(key, token, ttlMs);
  } catch (error) {
    attempt = Promise.reject(error);
  }
  return attempt.then(
    (grant) => receiver.granted(grant),
    (error: unknown) => receiver.failed(error),
  );
}

/** @internal `backend.releaseTo`, or `release` followed by the receiver. */
export function releaseTo<R>(
  backend: LockBackend,
  key: string,
  token: string,
  fence: number,
  receiver: ReleaseReceiver<R>,
): Promise<R> {
  if (backend.releaseTo !== undefined) return backend.releaseTo(key, token, fence, receiver);
  return backend.release(key, token, fence).then(
    (deleted) => receiver.releaseSettled(deleted),
    () => receiver.releaseSettled(undefined),
  );
}
