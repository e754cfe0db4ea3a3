/**
 * Opaque handle returned by {@link Clock.setTimeout}; only pass it back to
 * {@link Clock.clearTimeout} of the same clock.
 *
 * @example
 * ```ts
 * import { systemClock, type TimerHandle } from 'girder/core';
 *
 * const handle: TimerHandle = systemClock.setTimeout(() => {}, 10);
 * systemClock.clearTimeout(handle);
 * ```
 */
export type TimerHandle = object;

/**
 * Source of time and timers. Every girder primitive takes a `clock` option so tests
 * can control time instead of sleeping.
 *
 * @example
 * ```ts
 * import { systemClock, type Clock } from 'girder/core';
 *
 * function elapsedSince(start: number, clock: Clock = systemClock) {
 *   return clock.now() - start;
 * }
 * ```
 */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  /** Run `callback` after `ms` milliseconds. */
  setTimeout(callback: () => void, ms: number): TimerHandle;
  /** Cancel a timer; unknown or already-fired handles are ignored. */
  clearTimeout(handle: TimerHandle): void;
}

/**
 * The real clock: `Date.now()` and Node timers. Timers are `unref`'d so a pending
 * girder timer never keeps the process alive on its own.
 *
 * @example
 * ```ts
 * import { systemClock } from 'girder/core';
 *
 * const handle = systemClock.setTimeout(() => console.log('tick'), 100);
 * systemClock.clearTimeout(handle);
 * ```
 */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(callback, ms) {
    if (ms <= MAX_TIMER_MS) {
      const timer = setTimeout(callback, ms);
      timer.unref?.();
      return timer;
    }
    return longTimer(callback, ms);
  },
  clearTimeout(handle) {
    if (handle instanceof LongTimer) handle.cancel();
    else clearTimeout(handle as ReturnType<typeof setTimeout>);
  },
};

/**
 * The longest delay Node's `setTimeout` honours (2^31 − 1 ms, about 24.8 days); a larger
 * one fires after 1 ms. {@link systemClock} chains timers past it, so every girder
 * duration means what it says.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** A delay longer than Node's timers allow, run as a chain of shorter timers. */
class LongTimer {
  #timer: ReturnType<typeof setTimeout> | undefined;
  constructor(
    readonly callback: () => void,
    readonly dueAt: number,
  ) {
    this.arm();
  }
  arm(): void {
    const left = this.dueAt - Date.now();
    if (left <= 0) {
      this.#timer = undefined;
      this.callback();
      return;
    }
    this.#timer = setTimeout(() => this.arm(), Math.min(left, MAX_TIMER_MS));
    this.#timer.unref?.();
  }
  cancel(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

function longTimer(callback: () => void, ms: number): LongTimer {
  return new LongTimer(callback, Date.now() + ms);
}

interface PendingTimer {
  readonly id: number;
  readonly at: number;
  readonly callback: () => void;
}

/**
 * A clock whose time only moves when the test says so. Timers fire in due order
 * (ties in creation order) while {@link ManualClock.advance} passes their due time.
 */
export interface ManualClock extends Clock {
  /** Move time forward by `ms`, firing due timers synchronously. */
  advance(ms: number): void;
  /**
   * Move time forward by `ms`, letting promise callbacks run before and after each
   * timer fires, so async code woken by a timer can schedule its next step.
   */
  advanceAsync(ms: number): Promise<void>;
  /** Jump to an absolute time (never backwards), firing due timers. */
  set(time: number): void;
  /** Number of timers waiting to fire. */
  readonly pendingTimers: number;
}

/**
 * Create a {@link ManualClock} starting at `start` (default 0).
 *
 * @example
 * ```ts
 * import { manualClock, sleep } from 'girder/core';
 *
 * const clock = manualClock();
 * const done = sleep(1_000, { clock });
 * await clock.advanceAsync(1_000); // resolves `done` without waiting a second
 * await done;
 * ```
 */
export function manualClock(start = 0): ManualClock {
  let current = start;
  let nextId = 0;
  let timers: PendingTimer[] = [];

  const takeDue = (until: number): PendingTimer | undefined => {
    let best: PendingTimer | undefined;
    for (const t of timers) {
      if (
        t.at <= until &&
        (best === undefined || t.at < best.at || (t.at === best.at && t.id < best.id))
      ) {
        best = t;
      }
    }
    if (best) timers = timers.filter((t) => t !== best);
    return best;
  };

  const flushMicrotasks = async () => {
    // A few turns let chains of awaits settle before time moves again.
    for (let i = 0; i < 10; i++) await Promise.resolve();
  };

  return {
    now: () => current,
    setTimeout(callback, ms) {
      const timer: PendingTimer = { id: nextId++, at: current + Math.max(0, ms), callback };
      timers.push(timer);
      return timer;
    },
    clearTimeout(handle) {
      timers = timers.filter((t) => t !== handle);
    },
    advance(ms) {
      const until = current + ms;
      for (let t = takeDue(until); t; t = takeDue(until)) {
        current = Math.max(current, t.at);
        t.callback();
      }
      current = until;
    },
    async advanceAsync(ms) {
      const until = current + ms;
      await flushMicrotasks();
      for (let t = takeDue(until); t; t = takeDue(until)) {
        current = Math.max(current, t.at);
        t.callback();
        await flushMicrotasks();
      }
      current = until;
      await flushMicrotasks();
    },
    set(time) {
      if (time > current) this.advance(time - current);
    },
    get pendingTimers() {
      return timers.length;
    },
  };
}
