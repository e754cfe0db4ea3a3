import { GirderError } from '../core/index.js';
import type { LockLossReason } from './types.js';

/**
 * The wait for a busy lock ran out (`LOCK_TIMEOUT`).
 *
 * @example
 * ```ts
 * import { LockTimeoutError } from 'girder/lock';
 *
 * try {
 *   await locker.acquire('order:42', { waitMs: 500 });
 * } catch (err) {
 *   if (err instanceof LockTimeoutError) console.log(`busy for ${err.waitedMs} ms`);
 * }
 * ```
 */
export class LockTimeoutError extends GirderError {
  /** The key that stayed busy. */
  readonly key: string;
  /** How long the caller waited. */
  readonly waitedMs: number;

  constructor(key: string, waitedMs: number) {
    super('LOCK_TIMEOUT', `lock "${key}" still busy after ${waitedMs} ms`);
    this.key = key;
    this.waitedMs = waitedMs;
  }
}

/**
 * A held lock was lost, or may have been (`LOCK_LOST`): the reason of a lost lock's
 * `signal`, and what `extend` rejects with.
 *
 * @example
 * ```ts
 * import { LockLostError } from 'girder/lock';
 *
 * lock.signal.addEventListener('abort', () => {
 *   const err = lock.signal.reason as LockLostError;
 *   console.warn(`lost ${err.key}: ${err.reason}`);
 * });
 * ```
 */
export class LockLostError extends GirderError {
  /** The lock's key. */
  readonly key: string;
  /** The lock's fence. */
  readonly fence: number;
  /** Why it was lost. */
  readonly reason: LockLossReason;

  constructor(key: string, fence: number, reason: LockLossReason, options?: { cause?: unknown }) {
    super('LOCK_LOST', `lock "${key}" (fence ${fence}) lost: ${reason}`, options);
    this.key = key;
    this.fence = fence;
    this.reason = reason;
  }
}

/**
 * An operation needed a lock this caller does not hold (`LOCK_NOT_HELD`), for instance
 * extending a lock after releasing it.
 *
 * @example
 * ```ts
 * import { LockNotHeldError } from 'girder/lock';
 *
 * await lock.release();
 * await lock.extend().catch((err) => err instanceof LockNotHeldError); // true
 * ```
 */
export class LockNotHeldError extends GirderError {
  /** The lock's key. */
  readonly key: string;

  constructor(key: string, message = `lock "${key}" is not held`) {
    super('LOCK_NOT_HELD', message);
    this.key = key;
  }
}

/**
 * A fenced resource refused a write whose fence is older than one it has already
 * seen (`LOCK_FENCED`): the writer's lock was taken over while it paused.
 *
 * @example
 * ```ts
 * import { FencedError } from 'girder/lock';
 *
 * try {
 *   await fenced.write('stock:sku-1', lock.fence, '41');
 * } catch (err) {
 *   if (err instanceof FencedError) console.warn(`stale holder: ${err.fence} < ${err.current}`);
 * }
 * ```
 */
export class FencedError extends GirderError {
  /** The fenced resource. */
  readonly resource: string;
  /** The writer's fence. */
  readonly fence: number;
  /** The highest fence the resource has seen, when known. */
  readonly current: number | undefined;

  constructor(resource: string, fence: number, current: number | undefined) {
    super(
      'LOCK_FENCED',
      `write to "${resource}" with fence ${fence} refused` +
        (current === undefined ? '' : `: fence ${current} already seen`),
    );
    this.resource = resource;
    this.fence = fence;
    this.current = current;
  }
}

/**
 * The locker was closed (`LOCKER_CLOSED`): `acquire`, `tryAcquire` and `using` reject
 * with it afterwards, and so do acquisitions still waiting when `close()` was called.
 *
 * @example
 * ```ts
 * import { LockerClosedError } from 'girder/lock';
 *
 * await locker.close();
 * await locker.acquire('order:42').catch((err) => err instanceof LockerClosedError); // true
 * ```
 */
export class LockerClosedError extends GirderError {
  /** The locker's name. */
  readonly locker: string;

  constructor(locker: string) {
    super('LOCKER_CLOSED', `locker "${locker}" was closed`);
    this.locker = locker;
  }
}
