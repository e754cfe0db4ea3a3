// The Locker every backend shares: the acquire loop (polling with backoff, or the
// backend's own wait), tryAcquire, using, close. Backends plug in through LockBackend.
import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import {
  AbortedError,
  type EventSource,
  InvalidArgumentError,
  sleep,
  TypedEmitter,
} from '../core/index.js';
import { type AttemptReceiver, type LockBackend, type LockGrant, tryLockTo } from './backend.js';
import { LockerClosedError, LockTimeoutError } from './errors.js';
import { HeldList, HeldLock, type LockContext } from './held-lock.js';
import { type AcquireSettings, acquireSettings, checkKey, type LockerSettings } from './options.js';
import { TimerQueue } from './timer-queue.js';
import type { AcquireOptions, HeldLockInfo, Lock, LockEvents, Locker } from './types.js';

/**
 * @internal
 * A {@link Locker} on `backend`. Backends call this from their factory after parsing
 * their options with `lockerOptionFields`.
 */
export function createLocker(
  backend: LockBackend,
  settings: LockerSettings,
): Locker & {
  /** The backend kind (`memory`, `redis`, ...). */
  readonly kind: string;
} {
  return new LockerImpl(backend, settings);
}

class LockerImpl implements Locker {
  readonly name: string;
  readonly kind: string;
  readonly #events = new TypedEmitter<LockEvents>();
  readonly #ctx: LockContext;
  // Aborts every pending wait when the locker closes.
  readonly #closing = new AbortController();
  #closed: Promise<void> | undefined;
  // Attempts in flight: close() settles them at once.
  readonly #pending = new Set<() => void>();
  // Tokens are this locker's random 96-bit prefix and a counter: unique across lockers and
  // processes (two of 2^32 lockers share a prefix with odds below 1e-9), at a fraction of
  // randomUUID's cost. 96 bits, not 128: a token goes over the wire twice per lock, and
  // ioredis' string writes cost per byte.
  readonly #tokenPrefix = `${randomBytes(12).toString('base64url')}.`;
  #tokens = 0;
  // The settings of a call without options, built once (they never change); undefined
  // when the locker's own ttlMs is refused, so that each call reports it.
  readonly #acquireDefaults: AcquireSettings | undefined;
  readonly #tryDefaults: AcquireSettings | undefined;

  constructor(backend: LockBackend, settings: LockerSettings) {
    this.name = settings.name;
    this.kind = backend.kind;
    this.#ctx = {
      backend,
      settings,
      events: this.#events,
      held: new HeldList(),
      timers: new TimerQueue(settings.clock, settings.now),
    };
    this.#acquireDefaults = defaultsOrUndefined(settings, true);
    this.#tryDefaults = defaultsOrUndefined(settings, false);
    // Every pending acquisition listens to it: any number of waiters is normal.
    setMaxListeners(0, this.#closing.signal);
  }

  get events(): EventSource<LockEvents> {
    return this.#events;
  }

  acquire(key: string, options?: AcquireOptions): Promise<Lock> {
    let call: AcquireSettings;
    try {
      checkKey(key);
      call =
        (options === undefined ? this.#acquireDefaults : undefined) ??
        acquireSettings(this.#ctx.settings, options, true);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#acquire(key, call, true) as Promise<HeldLock>;
  }

  tryAcquire(
    key: string,
    options?: Omit<AcquireOptions, 'waitMs' | 'retry'>,
  ): Promise<Lock | undefined> {
    let call: AcquireSettings;
    try {
      checkKey(key);
      call =
        (options === undefined ? this.#tryDefaults : undefined) ??
        acquireSettings(this.#ctx.settings, options, false);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#acquire(key, call, false);
  }

  async using<T>(
    key: string,
    work: (signal: AbortSignal, lock: Lock) => T | PromiseLike<T>,
    options?: AcquireOptions,
  ): Promise<Awaited<T>> {
    checkKey(key);
    if (typeof work !== 'function') throw new InvalidArgumentError('work', 'must be a function');
    const call =
      (options === undefined ? this.#acquireDefaults : undefined) ??
      acquireSettings(this.#ctx.settings, options, true);
    const lock = (await this.#acquire(key, call, true)) as HeldLock;
    const link = linkSignals(lock.signal, call.signal);
    try {
      return await work(link.signal, lock);
    } finally {
      link.dispose();
      await lock.release();
    }
  }

  held(): HeldLockInfo[] {
    const { settings } = this.#ctx;
    // Monotonic lock times plus this offset are times of the locker's clock.
    const toWall = settings.clock.now() - settings.now();
    const list: HeldLockInfo[] = [];
    for (const lock of this.#ctx.held.list()) {
      const info = lock.info(toWall);
      if (info !== undefined) list.push(info);
    }
    return list;
  }

  close(): Promise<void> {
    this.#closed ??= this.#close();
    return this.#closed;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #close(): Promise<void> {
    this.#closing.abort(new LockerClosedError(this.name));
    for (const stop of [...this.#pending]) stop();
    await Promise.all(this.#ctx.held.list().map((lock) => lock.closeAndRelease()));
    this.#ctx.timers.close();
    await this.#ctx.backend.close?.();
  }

  /**
   * The common case without an `await`: a polling backend, no caller signal, and a first
   * attempt that gets the key. Anything else continues in {@link LockerImpl.#acquireLoop}
   * with the first attempt's outcome, so both paths take the same decisions.
   */
  #acquire(key: string, call: AcquireSettings, waiting: boolean): Promise<HeldLock | undefined> {
    const { settings, backend } = this.#ctx;
    if (call.signal !== undefined || backend.acquire !== undefined) {
      return this.#acquireLoop(key, call, waiting, undefined);
    }
    if (this.#closing.signal.aborted) return Promise.reject(this.#closing.signal.reason);
    const started = settings.now();
    const token = this.#newToken();
    // A promise resolved with a promise adopts it: the receiver's loop result flattens.
    return tryLockTo(
      backend,
      key,
      token,
      call.ttlMs,
      new FirstAttempt(this, key, token, call, waiting, started),
    ) as Promise<HeldLock | undefined>;
  }

  /** @internal The fast path's attempt got `grant`: hold it, or throw when closing. */
  holdFirst(attempt: FirstAttempt, grant: LockGrant): HeldLock {
    return this.#hold(
      attempt.key,
      attempt.token,
      grant,
      attempt.call,
      attempt.started,
      attempt.started,
    );
  }

  /** @internal The fast path's attempt was refused or failed: the loop takes over. */
  continueFirst(attempt: FirstAttempt): Promise<HeldLock | undefined> {
    return this.#acquireLoop(attempt.key, attempt.call, attempt.waiting, attempt);
  }

  async #acquireLoop(
    key: string,
    call: AcquireSettings,
    waiting: boolean,
    first: FirstAttempt | undefined,
  ): Promise<HeldLock | undefined> {
    const { settings, backend } = this.#ctx;
    if (call.signal?.aborted) throw new AbortedError(call.signal.reason);
    if (first === undefined) this.#throwIfClosed();
    const started = first?.started ?? settings.now();
    const caller = call.signal;
    // The combined signal (caller or close) is only built when something must wait.
    let link: { signal: AbortSignal; dispose: () => void } | undefined;
    const waitSignal = () => {
      link ??= linkSignals(this.#closing.signal, caller);
      return link.signal;
    };
    try {
      if (backend.acquire !== undefined) {
        const token = this.#newToken();
        const attemptStart = settings.now();
        const signal = waitSignal();
        const grant = await this.#attempt(key, token, caller, () =>
          backend.acquire!({
            key,
            token,
            ttlMs: call.ttlMs,
            waitMs: call.waitMs,
            signal,
            contended: () => this.#events.emit('contended', { key }),
          }),
        );
        if (grant !== undefined) return this.#hold(key, token, grant, call, attemptStart, started);
        return this.#timedOut(key, started, waiting);
      }
      // One token for every attempt of this call: an attempt whose reply was lost (a
      // timeout) may have taken the key, and the next attempt then finds it ours.
      const token = first?.token ?? this.#newToken();
      let uncertain = false;
      let previousMs: number | undefined;
      try {
        for (let attempt = 1; ; attempt++) {
          const attemptStart = settings.now();
          let grant: LockGrant | undefined;
          let failure: unknown;
          try {
            if (attempt === 1 && first !== undefined) {
              // The fast path made this attempt already (refused, or failed).
              if (first.failure !== undefined) throw first.failure.error;
            } else {
              grant = await this.#attempt(key, token, caller, () =>
                backend.tryLock(key, token, call.ttlMs),
              );
            }
            uncertain = false;
          } catch (error) {
            uncertain = true;
            // Aborts, closing and definite errors end the call; transient ones are retried.
            if (this.#stopped(caller) || !(backend.transient?.(error) ?? false)) throw error;
            failure = error;
          }
          if (grant !== undefined) {
            return this.#hold(key, token, grant, call, attemptStart, started);
          }
          if (failure === undefined) this.#events.emit('contended', { key });
          const leftMs = call.waitMs - (settings.now() - started);
          if (!waiting || leftMs <= 0) {
            if (failure !== undefined) throw failure;
            return this.#timedOut(key, started, waiting);
          }
          // A backend that is told of releases waits for one; others poll with backoff.
          if (backend.waitFree !== undefined && failure === undefined) {
            await this.#wait(backend.waitFree(key, leftMs, waitSignal()));
          } else {
            previousMs = Math.min(leftMs, call.retry.delayMs(attempt, previousMs));
            await this.#wait(sleep(previousMs, { signal: waitSignal(), clock: settings.clock }));
          }
        }
      } finally {
        // The last attempt's outcome is unknown: free the key if it took it after all.
        if (uncertain) backend.release(key, token, 0).catch(() => {});
      }
    } finally {
      link?.dispose();
    }
  }

  #newToken(): string {
    return this.#tokenPrefix + (++this.#tokens).toString(36);
  }

  #stopped(caller: AbortSignal | undefined): boolean {
    return this.#closing.signal.aborted || caller?.aborted === true;
  }

  /**
   * Run one attempt, settling at once when the caller aborts or the locker closes. An
   * attempt that still succeeds afterwards is released in the background: aborting
   * leaves no lock. Without a caller signal the attempt runs bare (the fast path): a
   * close() during it is noticed when it settles (`#hold` releases a late grant).
   */
  #attempt(
    key: string,
    token: string,
    caller: AbortSignal | undefined,
    run: () => Promise<LockGrant | undefined>,
  ): Promise<LockGrant | undefined> {
    if (caller === undefined) return run();
    return new Promise<LockGrant | undefined>((resolve, reject) => {
      let settled = false;
      const stop = () => {
        if (settled) return;
        settled = true;
        caller?.removeEventListener('abort', stop);
        this.#pending.delete(stop);
        reject(this.#abortError(caller));
      };
      caller?.addEventListener('abort', stop, { once: true });
      this.#pending.add(stop);
      const done = () => {
        settled = true;
        caller?.removeEventListener('abort', stop);
        this.#pending.delete(stop);
      };
      run().then(
        (grant) => {
          if (!settled) {
            done();
            resolve(grant);
          } else if (grant !== undefined) {
            this.#ctx.backend.release(key, token, grant.fence).catch(() => {});
          }
        },
        (error: unknown) => {
          if (settled) return;
          done();
          reject(this.#stopped(caller) ? this.#abortError(caller) : error);
        },
      );
    });
  }

  async #wait(waiting: Promise<void>): Promise<void> {
    try {
      await waiting;
    } catch (error) {
      this.#throwIfClosed();
      throw error;
    }
  }

  #abortError(caller: AbortSignal | undefined): Error {
    if (this.#closing.signal.aborted) return this.#closing.signal.reason as Error;
    return new AbortedError(caller?.reason);
  }

  #throwIfClosed(): void {
    if (this.#closing.signal.aborted) throw this.#closing.signal.reason;
  }

  #timedOut(key: string, started: number, waiting: boolean): undefined {
    if (!waiting) return undefined;
    const waitedMs = Math.round(this.#ctx.settings.now() - started);
    this.#events.emit('timeout', { key, waitedMs });
    throw new LockTimeoutError(key, waitedMs);
  }

  #hold(
    key: string,
    token: string,
    grant: LockGrant,
    call: AcquireSettings,
    attemptStart: number,
    started: number,
  ): HeldLock {
    const settings = this.#ctx.settings;
    if (this.#closing.signal.aborted) {
      this.#ctx.backend.release(key, token, grant.fence).catch(() => {});
      throw this.#closing.signal.reason;
    }
    const lock = new HeldLock(
      this.#ctx,
      key,
      token,
      grant,
      call.ttlMs,
      grant.validFrom ?? attemptStart,
      call.watchdog,
    );
    if (this.#events.has('acquired')) {
      const waitedMs = Math.max(0, Math.round(settings.now() - started));
      this.#events.emit('acquired', { key, fence: grant.fence, waitedMs });
    }
    return lock;
  }
}

function defaultsOrUndefined(
  settings: LockerSettings,
  waiting: boolean,
): AcquireSettings | undefined {
  try {
    return acquireSettings(settings, undefined, waiting);
  } catch {
    return undefined;
  }
}

/**
 * The fast path's one attempt, and what it hands the loop when the key was busy or the
 * attempt failed (`failure`). It receives the backend's answer itself: one object per
 * acquire instead of two reaction closures, their context and a promise.
 */
class FirstAttempt implements AttemptReceiver<HeldLock | Promise<HeldLock | undefined>> {
  failure: { readonly error: unknown } | undefined = undefined;

  constructor(
    readonly locker: LockerImpl,
    readonly key: string,
    readonly token: string,
    readonly call: AcquireSettings,
    readonly waiting: boolean,
    readonly started: number,
  ) {}

  granted(grant: LockGrant | undefined): HeldLock | Promise<HeldLock | undefined> {
    if (grant === undefined) return this.locker.continueFirst(this);
    try {
      return this.locker.holdFirst(this, grant);
    } catch (error) {
      return Promise.reject(error); // closing: a throw here would be taken for a bad reply
    }
  }

  failed(error: unknown): Promise<HeldLock | undefined> {
    this.failure = { error };
    return this.locker.continueFirst(this);
  }
}

/**
 * One signal that aborts when either input aborts (with that input's reason, a caller's
 * reason wrapped in `AbortedError`). `dispose` removes the listeners.
 */
function linkSignals(
  primary: AbortSignal,
  caller: AbortSignal | undefined,
): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  if (primary.aborted) controller.abort(primary.reason);
  else if (caller?.aborted) controller.abort(new AbortedError(caller.reason));
  if (controller.signal.aborted) return { signal: controller.signal, dispose: () => {} };
  const onPrimary = () => controller.abort(primary.reason);
  const onCaller = () => controller.abort(new AbortedError(caller?.reason));
  primary.addEventListener('abort', onPrimary, { once: true });
  caller?.addEventListener('abort', onCaller, { once: true });
  return {
    signal: controller.signal,
    dispose: () => {
      primary.removeEventListener('abort', onPrimary);
      caller?.removeEventListener('abort', onCaller);
    },
  };
}
