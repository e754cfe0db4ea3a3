// Internal: per-command deadlines without a per-call timer, clock read or map. Calls
// started since the last tick go to `young`, a plain array where each call knows its slot
// and leaves it when answered (swap with the last, no allocation), so `young` holds only
// calls in flight; the few still unanswered at a tick move to `old` with a deadline of
// that tick + timeoutMs: late by at most one tick, never early. (Keeping answered calls in
// `young` until the tick made every call of the last ~50 ms survive young-generation
// collections, with its argument list.) The tick's time also serves as the "now" of
// script deadlines, which is therefore never later than the real send time (server
// deadlines err early, never late).

/** One call under a deadline: `expire()` settles it as timed out. */
export abstract class Pending {
  settled = false;
  deadline = 0;
  /** Index in its tracker's `young` list; -1 when not there. */
  slot = -1;
  /** The call was not answered in time (or the runner closed): settle it as a timeout. */
  abstract expire(): void;
}

/** A function doing nothing (placeholder callback). */
export const noop = (): void => {};

/** The deadline tracker of one runner. */
export class Deadlines {
  #young: Pending[] = [];
  #old: Pending[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #now = 0;
  readonly #tickMs: number;
  readonly #onTick = () => this.#tick();

  constructor(readonly timeoutMs: number) {
    this.#tickMs = Math.max(1, Math.min(50, Math.floor(timeoutMs / 2)));
  }

  /** `performance.now()` as of the last tick (fresh when no tick is scheduled). */
  now(): number {
    if (this.#timer === undefined) this.#now = performance.now();
    return this.#now;
  }

  /** Start tracking `entry`; set its `settled` once it is answered. */
  track(entry: Pending): void {
    const young = this.#young;
    entry.slot = young.length;
    young.push(entry);
    if (this.#timer === undefined) {
      this.#now = performance.now();
      this.#schedule();
    }
  }

  /** `entry` was answered: drop it from `young` (no-op when it is not there). */
  untrack(entry: Pending): void {
    const slot = entry.slot;
    if (slot < 0) return;
    entry.slot = -1;
    const young = this.#young;
    const last = young.pop()!;
    if (last !== entry) {
      young[slot] = last;
      last.slot = slot;
    }
  }

  /** Time out every call still pending, now. */
  close(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    const all = [...this.#old, ...this.#young];
    for (const entry of this.#young) entry.slot = -1;
    this.#old = [];
    this.#young = [];
    for (const entry of all) {
      if (entry.settled) continue;
      entry.settled = true;
      entry.expire();
    }
  }

  #schedule(): void {
    this.#timer = setTimeout(this.#onTick, this.#tickMs);
    this.#timer.unref?.();
  }

  #tick(): void {
    this.#timer = undefined;
    const now = performance.now();
    this.#now = now;
    const old: Pending[] = [];
    for (const entry of this.#old) {
      if (entry.settled) continue;
      if (entry.deadline <= now) {
        entry.settled = true;
        entry.expire();
      } else {
        old.push(entry);
      }
    }
    const deadline = now + this.timeoutMs;
    for (const entry of this.#young) {
      entry.slot = -1;
      if (!entry.settled) {
        entry.deadline = deadline;
        old.push(entry);
      }
    }
    this.#young = [];
    this.#old = old;
    if (old.length > 0) this.#schedule();
  }
}
