// The Lock every backend hands out: the local deadline, the watchdog, extend, release
// and the events. A backend only answers renew/release; this file decides what they mean.
import type { TypedEmitter } from '../core/index.js';
import { type LockBackend, type LockGrant, type ReleaseReceiver, releaseTo } from './backend.js';
import { LockLostError, LockNotHeldError } from './errors.js';
import { checkTtl, type LockerSettings, validityMs } from './options.js';
import type { DueTarget, TimerEntry, TimerQueue } from './timer-queue.js';
import type { HeldLockInfo, Lock, LockEvents, LockLossReason } from './types.js';

/**
 * @internal
 * What a {@link HeldLock} shares with its locker.
 */
export interface LockContext {
  readonly backend: LockBackend;
  readonly settings: LockerSettings;
  readonly events: TypedEmitter<LockEvents>;
  /** Locks still held, so `close()` can release them. */
  readonly held: HeldList;
  /** The locker's one timer: every lock's watchdog and local deadline. */
  readonly timers: TimerQueue;
}

type State = 'held' | 'lost' | 'released';

/**
 * @internal
 * The locks a locker holds, in a plain array where each lock knows its slot: adding and
 * removing cost no allocation. A `Set` churned once per acquire re-hashed its table every
 * few dozen operations, and the tables it dropped outlived young-generation collections.
 */
export class HeldList {
  #locks: HeldLock[] = [];
  #added = 0;

  get size(): number {
    return this.#locks.length;
  }

  /** A copy in the order the locks were added, safe to iterate while locks come and go. */
  list(): HeldLock[] {
    return this.#locks.slice().sort((a, b) => a.heldOrder - b.heldOrder);
  }

  /** Add `lock` (not in the list yet). */
  add(lock: HeldLock): void {
    lock.heldIndex = this.#locks.length;
    lock.heldOrder = ++this.#added;
    this.#locks.push(lock);
  }

  /** Remove `lock` (no-op when absent): the last lock moves into its slot. */
  delete(lock: HeldLock): void {
    const index = lock.heldIndex;
    if (index < 0) return;
    lock.heldIndex = -1;
    const locks = this.#locks;
    const last = locks.pop()!;
    if (last !== lock) {
      locks[index] = last;
      last.heldIndex = index;
    }
  }
}

const noop = () => {};
const no = () => false;
// Retries of a failed renewal never come faster than this.
const MIN_RETRY_MS = 5;

/**
 * @internal
 * A held lock. Its deadline is `startedAt + ttl − drift − margin` where `startedAt` is
 * the start of the last renewal the backend confirmed: a reply proves the server had
 * the TTL from no earlier than the moment the request left.
 */
export class HeldLock implements Lock, DueTarget, ReleaseReceiver<boolean> {
  readonly key: string;
  readonly token: string;
  readonly fence: number;
  /** @internal This lock's slot in its locker's {@link HeldList}; -1 when not in it. */
  heldIndex = -1;
  /** @internal When it joined the {@link HeldList}: lists keep acquisition order. */
  heldOrder = 0;
  readonly #ctx: LockContext;
  readonly #acquiredAt: number;
  readonly #renewAtFraction: number | undefined;
  // Created on first read of `signal` (most locks are released before anyone asks).
  #controller: AbortController | undefined;
  #lossError: LockLostError | undefined;
  #state: State = 'held';
  #ttlMs: number;
  #confirmedStart: number;
  #deadlineAt: number;
  // When the watchdog renews next; undefined while a renewal is in flight or without one.
  #renewAt: number | undefined;
  // This lock's entry in the locker's timer queue: the earlier of deadline and renewal.
  #timer: TimerEntry | undefined;
  #unwatch: () => void = noop;
  #releasing: Promise<boolean> | undefined;
  #renewals = 0;

  /**
   * Hold `key` under `token` as `grant` says, for `ttlMs` counted from `startedAt`
   * (monotonic: the start of the successful attempt). Positional, not an options object:
   * this runs once per acquire.
   */
  constructor(
    ctx: LockContext,
    key: string,
    token: string,
    grant: LockGrant,
    ttlMs: number,
    startedAt: number,
    watchdog: { readonly renewAtFraction: number } | false,
  ) {
    this.#ctx = ctx;
    this.key = key;
    this.token = token;
    this.fence = grant.fence;
    this.#ttlMs = ttlMs;
    this.#acquiredAt = startedAt;
    this.#confirmedStart = startedAt;
    this.#deadlineAt = startedAt + validityMs(ctx.settings, ttlMs);
    this.#renewAtFraction = watchdog === false ? undefined : watchdog.renewAtFraction;
    this.#renewAt = this.#nextRenewal();
    ctx.held.add(this);
    this.#schedule();
    if (grant.watch !== undefined && this.#state === 'held') {
      this.#unwatch = grant.watch((reason, cause) => this.#lose(reason, cause));
    }
  }

  get signal(): AbortSignal {
    // As in `held`: a timer can run late (SIGSTOP), so the clock decides first.
    if (this.#state === 'held' && this.#ctx.settings.now() >= this.#deadlineAt) {
      this.#lose('deadline');
    }
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#lossError !== undefined) this.#controller.abort(this.#lossError);
    }
    return this.#controller.signal;
  }

  get held(): boolean {
    // Timers can run late (a blocked event loop, SIGSTOP): the clock decides first.
    if (this.#state === 'held' && this.#ctx.settings.now() >= this.#deadlineAt) {
      this.#lose('deadline');
    }
    return this.#state === 'held';
  }

  /**
   * @internal This lock for {@link Locker.held}, with monotonic times moved to the clock's
   * epoch by `toWall` (undefined once it is no longer held).
   */
  info(toWall: number): HeldLockInfo | undefined {
    if (!this.held) return undefined;
    return {
      key: this.key,
      fence: this.fence,
      acquiredAt: this.#acquiredAt + toWall,
      expiresAt: this.#deadlineAt + toWall,
      ttlMs: this.#ttlMs,
      renewals: this.#renewals,
    };
  }

  async extend(ttlMs?: number): Promise<void> {
    const ttl = checkTtl(this.#ctx.settings, ttlMs ?? this.#ttlMs, 'ttlMs');
    this.#throwUnlessHeld();
    const start = this.#ctx.settings.now();
    let outcome: 'ok' | 'lost';
    try {
      outcome = await this.#ctx.backend.renew(this.key, this.token, ttl, this.fence);
    } catch (error) {
      this.#throwUnlessHeld();
      this.#ctx.events.emit('extendFailed', { key: this.key, fence: this.fence, error });
      throw error;
    }
    this.#throwUnlessHeld();
    if (outcome === 'lost') {
      this.#lose('expired');
      this.#throwUnlessHeld();
    }
    this.#confirm(start, ttl);
    this.#throwUnlessHeld();
  }

  release(): Promise<boolean> {
    this.#releasing ??= this.#release();
    return this.#releasing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.release();
  }

  /** @internal The locker is closing: abort the signal (`closed`) and release on the server. */
  closeAndRelease(): Promise<boolean> {
    this.#lose('closed');
    return this.release();
  }

  #throwUnlessHeld(): void {
    if (this.#state === 'released') throw new LockNotHeldError(this.key);
    if (this.#state === 'lost' || !this.held) throw this.#lossError;
  }

  #nextRenewal(): number | undefined {
    const fraction = this.#renewAtFraction;
    return fraction === undefined ? undefined : this.#confirmedStart + this.#ttlMs * fraction;
  }

  /** (Re)schedule this lock's entry for the earlier of the deadline and the next renewal. */
  #schedule(): void {
    if (this.#state !== 'held') return;
    const due = Math.min(this.#deadlineAt, this.#renewAt ?? Number.POSITIVE_INFINITY);
    const timer = this.#timer;
    if (timer !== undefined) {
      if (timer.at === due && !timer.cancelled) return;
      this.#ctx.timers.cancel(timer);
    }
    this.#timer = this.#ctx.timers.schedule(due, this);
  }

  /** @internal Called by the locker's timer queue when this lock's entry is due. */
  onDue(): void {
    this.#timer = undefined;
    if (this.#state !== 'held') return;
    const now = this.#ctx.settings.now();
    if (now >= this.#deadlineAt) {
      this.#lose('deadline');
      return;
    }
    if (this.#renewAt !== undefined && now >= this.#renewAt) {
      this.#renewAt = undefined;
      void this.#renew();
    }
    this.#schedule();
  }

  async #renew(): Promise<void> {
    const { backend, settings, events } = this.#ctx;
    const ttl = this.#ttlMs;
    const start = settings.now();
    let outcome: 'ok' | 'lost';
    try {
      outcome = await backend.renew(this.key, this.token, ttl, this.fence);
    } catch (error) {
      if (this.#state !== 'held') return;
      events.emit('extendFailed', { key: this.key, fence: this.fence, error });
      // Keep trying until the deadline says otherwise.
      const now = settings.now();
      const interval = ttl * (this.#renewAtFraction ?? 1 / 3);
      this.#renewAt =
        now + Math.max(MIN_RETRY_MS, Math.min(interval, (this.#deadlineAt - now) / 2));
      this.#schedule();
      return;
    }
    if (this.#state !== 'held') return;
    if (outcome === 'lost') this.#lose('expired');
    else if (!this.#confirm(start, ttl)) {
      // An extend() confirmed a later renewal meanwhile: keep its schedule.
      this.#renewAt ??= this.#nextRenewal();
      this.#schedule();
    }
  }

  /**
   * A renewal that started at `start` for `ttl` was confirmed by the backend. False when
   * a later-started renewal was already confirmed (this one changes nothing).
   */
  #confirm(start: number, ttl: number): boolean {
    if (this.#state !== 'held' || start < this.#confirmedStart) return false;
    this.#confirmedStart = start;
    this.#ttlMs = ttl;
    this.#deadlineAt = start + validityMs(this.#ctx.settings, ttl);
    this.#renewAt = this.#nextRenewal();
    if (this.#ctx.settings.now() >= this.#deadlineAt) {
      this.#lose('deadline'); // the reply came too late to be of use
      return true;
    }
    this.#schedule();
    this.#renewals++;
    this.#ctx.events.emit('extended', { key: this.key, fence: this.fence, ttlMs: ttl });
    return true;
  }

  #stop(): void {
    if (this.#timer !== undefined) this.#ctx.timers.cancel(this.#timer);
    this.#timer = undefined;
    this.#ctx.held.delete(this);
    const unwatch = this.#unwatch;
    this.#unwatch = noop;
    unwatch();
  }

  #lose(reason: LockLossReason, cause?: unknown): void {
    if (this.#state !== 'held') return;
    this.#state = 'lost';
    this.#stop();
    const heldMs = Math.max(0, this.#ctx.settings.now() - this.#acquiredAt);
    const error = new LockLostError(this.key, this.fence, reason, { cause });
    this.#lossError = error;
    // Abort first: the work must stop before observers run.
    this.#controller?.abort(error);
    this.#ctx.events.emit('lost', { key: this.key, fence: this.fence, reason, heldMs });
  }

  #release(): Promise<boolean> {
    const wasHeld = this.held;
    const reason = this.#lossError?.reason;
    if (wasHeld) {
      this.#state = 'released';
      this.#stop();
    } else if (reason === 'expired' || reason === 'session') {
      return Promise.resolve(false); // the server already let go: nothing to delete
    }
    // Past the local deadline (or closing) the key may still be ours on the server:
    // deleting it (token-checked) frees it early for the next holder.
    if (!wasHeld) return this.#boundedRelease().then(no);
    const { backend, settings } = this.#ctx;
    const bound = backend.callTimeoutMs ?? 0;
    if (bound > 0 && bound <= settings.releaseTimeoutMs) {
      // The hot path: the backend bounds its own calls tighter than releaseTimeoutMs and
      // hands the outcome to this lock (a failure counts as an unknown outcome).
      return releaseTo(backend, this.key, this.token, this.fence, this);
    }
    return this.#boundedRelease().then((deleted) => this.releaseSettled(deleted));
  }

  /**
   * @internal The outcome of releasing a lock that was held until `release()` was called
   * (`undefined`: unknown, the call failed).
   */
  releaseSettled(deleted: boolean | undefined): boolean {
    const { events, settings } = this.#ctx;
    if (deleted === true) {
      if (events.has('released')) {
        const heldMs = Math.max(0, settings.now() - this.#acquiredAt);
        events.emit('released', { key: this.key, fence: this.fence, heldMs });
      }
      return true;
    }
    const heldMs = Math.max(0, settings.now() - this.#acquiredAt);
    if (deleted === false) {
      // The server no longer had it: it had expired while we believed we held it.
      this.#ctx.events.emit('lost', {
        key: this.key,
        fence: this.fence,
        reason: 'expired',
        heldMs,
      });
    }
    return false;
  }

  /** The backend's answer, or `undefined` when it failed or took longer than releaseTimeoutMs. */
  #boundedRelease(): Promise<boolean | undefined> {
    const { backend, settings } = this.#ctx;
    const bound = backend.callTimeoutMs ?? 0;
    if (bound > 0 && bound <= settings.releaseTimeoutMs) {
      // The backend bounds its own calls tighter than releaseTimeoutMs: no timer needed.
      return backend.release(this.key, this.token, this.fence).catch(() => undefined);
    }
    return new Promise<boolean | undefined>((resolve) => {
      const timer = settings.clock.setTimeout(() => resolve(undefined), settings.releaseTimeoutMs);
      backend.release(this.key, this.token, this.fence).then(
        (deleted) => {
          settings.clock.clearTimeout(timer);
          resolve(deleted);
        },
        () => {
          settings.clock.clearTimeout(timer);
          resolve(undefined);
        },
      );
    });
  }
}
