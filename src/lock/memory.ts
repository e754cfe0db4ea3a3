// The embedded backend: one in-process table per locker. Waiters are woken when a key is
// released or expires (no polling); TTLs run on the locker's clock.
import { AbortedError, type Clock, parseOptions, type TimerHandle } from '../core/index.js';
import type { LockBackend, LockGrant } from './backend.js';
import { createLocker } from './locker.js';
import { lockerOptionsSchema, lockerSettings } from './options.js';
import type { Locker, LockerOptions } from './types.js';

/**
 * Options of {@link memoryLock}: the common {@link LockerOptions}.
 *
 * @example
 * ```ts
 * import { type MemoryLockOptions, memoryLock } from 'girder/lock';
 *
 * const options: MemoryLockOptions = { ttlMs: 5_000, waitMs: 1_000 };
 * const locker = memoryLock(options);
 * ```
 */
export type MemoryLockOptions = LockerOptions;

interface Entry {
  readonly token: string;
  timer: TimerHandle;
}

class MemoryBackend implements LockBackend {
  readonly kind = 'memory';
  readonly #clock: Clock;
  readonly #locks = new Map<string, Entry>();
  // The last fence handed out per key, kept for ever so fences never repeat.
  readonly #fences = new Map<string, number>();
  readonly #waiters = new Map<string, Set<() => void>>();

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  async tryLock(key: string, token: string, ttlMs: number): Promise<LockGrant | undefined> {
    const held = this.#locks.get(key);
    if (held !== undefined) {
      if (held.token !== token) return undefined;
      this.#clock.clearTimeout(held.timer);
      held.timer = this.#expiry(key, token, ttlMs);
      return { fence: this.#fences.get(key)! };
    }
    const fence = (this.#fences.get(key) ?? 0) + 1;
    this.#fences.set(key, fence);
    this.#locks.set(key, { token, timer: this.#expiry(key, token, ttlMs) });
    return { fence };
  }

  async renew(key: string, token: string, ttlMs: number): Promise<'ok' | 'lost'> {
    const entry = this.#locks.get(key);
    if (entry?.token !== token) return 'lost';
    this.#clock.clearTimeout(entry.timer);
    entry.timer = this.#expiry(key, token, ttlMs);
    return 'ok';
  }

  async release(key: string, token: string): Promise<boolean> {
    const entry = this.#locks.get(key);
    if (entry?.token !== token) return false;
    this.#clock.clearTimeout(entry.timer);
    this.#free(key);
    return true;
  }

  waitFree(key: string, ms: number, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.reject(new AbortedError(signal.reason));
    if (!this.#locks.has(key)) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      let set = this.#waiters.get(key);
      if (set === undefined) {
        set = new Set();
        this.#waiters.set(key, set);
      }
      const done = () => {
        set.delete(wake);
        if (set.size === 0 && this.#waiters.get(key) === set) this.#waiters.delete(key);
        this.#clock.clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
      };
      const wake = () => {
        done();
        resolve();
      };
      const onAbort = () => {
        done();
        reject(new AbortedError(signal.reason));
      };
      const timer = this.#clock.setTimeout(wake, ms);
      set.add(wake);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  async close(): Promise<void> {
    for (const entry of this.#locks.values()) this.#clock.clearTimeout(entry.timer);
    this.#locks.clear();
    for (const waiters of [...this.#waiters.values()]) for (const wake of [...waiters]) wake();
  }

  #expiry(key: string, token: string, ttlMs: number): TimerHandle {
    return this.#clock.setTimeout(() => {
      if (this.#locks.get(key)?.token === token) this.#free(key);
    }, ttlMs);
  }

  #free(key: string): void {
    this.#locks.delete(key);
    const waiters = this.#waiters.get(key);
    // Every waiter retries; the first to run wins and the rest wait again.
    if (waiters !== undefined) for (const wake of [...waiters]) wake();
  }
}

/**
 * A {@link Locker} inside this process: the embedded default, for one process and for
 * tests. Waiters are woken as soon as the key is released or expires, fences count up
 * from 1 per key, and TTLs run on the `clock` option (drive them with `manualClock()`).
 * Every locker has its own table: share the locker, not the options.
 *
 * @throws InvalidOptionsError for unknown or out-of-range options.
 *
 * @example
 * ```ts
 * import { memoryLock } from 'girder/lock';
 *
 * const locker = memoryLock({ ttlMs: 5_000 });
 * const total = await locker.using('cart:7', async (signal, lock) => {
 *   return recomputeCart(7, { signal, fence: lock.fence });
 * }, { waitMs: 1_000 });
 * ```
 */
export function memoryLock(options: MemoryLockOptions = {}): Locker {
  const settings = lockerSettings(parseOptions('memoryLock', lockerOptionsSchema, options));
  return createLocker(new MemoryBackend(settings.clock), settings);
}
