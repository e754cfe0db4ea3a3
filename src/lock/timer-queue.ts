// One clock timer per locker instead of one per lock. Most locks are released long before
// their watchdog or local deadline is due, so a per-lock timer was armed and cleared for
// nothing on every acquire. Here a lock's due time goes into a binary min-heap; cancelling
// only marks the entry, and cancelled entries are dropped when they reach the top or when
// they outnumber the live ones (a rebuild, amortised O(1) per entry).
import type { Clock, TimerHandle } from '../core/index.js';

/** @internal What a scheduled entry calls when its time comes. */
export interface DueTarget {
  onDue(): void;
}

/** @internal One scheduled call; `cancel` it through its queue. */
export class TimerEntry {
  cancelled = false;
  constructor(
    readonly at: number,
    readonly target: DueTarget,
  ) {}
}

// Rebuild once cancelled entries exceed the live ones by this many (and by 2x).
const SLACK = 64;

/**
 * @internal
 * Due times of every lock of one locker, on the locker's monotonic `now`, served by one
 * timer of its `clock`. An entry fires no earlier than its time (the timer may run late:
 * a blocked loop, SIGSTOP), in time order.
 */
export class TimerQueue {
  readonly #clock: Clock;
  readonly #now: () => number;
  #heap: TimerEntry[] = [];
  #live = 0;
  #timer: TimerHandle | undefined;
  #timerAt = Number.POSITIVE_INFINITY;
  #closed = false;
  readonly #onTimer = () => this.#fire();

  constructor(clock: Clock, now: () => number) {
    this.#clock = clock;
    this.#now = now;
  }

  /** Entries not cancelled or fired yet. */
  get size(): number {
    return this.#live;
  }

  /** Entries in the heap, cancelled ones included (for tests). */
  get heapLength(): number {
    return this.#heap.length;
  }

  /** Call `target.onDue()` once `now() >= at`. */
  schedule(at: number, target: DueTarget): TimerEntry {
    const entry = new TimerEntry(at, target);
    if (this.#closed) {
      entry.cancelled = true;
      return entry;
    }
    this.#push(entry);
    this.#live++;
    if (at < this.#timerAt) this.#arm(at);
    return entry;
  }

  /** Forget `entry` (no-op when it already fired or was cancelled). */
  cancel(entry: TimerEntry): void {
    if (entry.cancelled) return;
    entry.cancelled = true;
    this.#live--;
    if (this.#live === 0) {
      // Keep the (unref'd) timer: the next lock, due no earlier, usually reuses it, so a
      // one-at-a-time caller does not arm and clear a clock timer on every acquire. When
      // it fires with nothing live it re-arms nothing.
      this.#heap.length = 0;
    } else if (this.#heap.length > 2 * this.#live + SLACK) {
      this.#rebuild();
    }
  }

  /** Stop the timer and drop every entry. */
  close(): void {
    this.#closed = true;
    for (const entry of this.#heap) entry.cancelled = true;
    this.#heap = [];
    this.#live = 0;
    this.#disarm();
  }

  #arm(at: number): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timerAt = at;
    // Whole milliseconds, never early: the callback re-checks `now()` anyway.
    this.#timer = this.#clock.setTimeout(this.#onTimer, Math.max(0, Math.ceil(at - this.#now())));
  }

  #disarm(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Number.POSITIVE_INFINITY;
  }

  #fire(): void {
    this.#timer = undefined;
    this.#timerAt = Number.POSITIVE_INFINITY;
    const now = this.#now();
    const heap = this.#heap;
    // A target's onDue may schedule or cancel entries: the heap is re-read each turn.
    while (heap.length > 0) {
      const top = heap[0]!;
      if (top.cancelled) {
        this.#pop();
        continue;
      }
      if (top.at > now) break;
      this.#pop();
      top.cancelled = true;
      this.#live--;
      top.target.onDue();
    }
    this.#dropCancelledTop();
    const next = this.#heap[0];
    if (next !== undefined && next.at < this.#timerAt) this.#arm(next.at);
  }

  #dropCancelledTop(): void {
    while (this.#heap.length > 0 && this.#heap[0]!.cancelled) this.#pop();
  }

  #rebuild(): void {
    const live = this.#heap.filter((entry) => !entry.cancelled);
    this.#heap = live;
    for (let i = (live.length >> 1) - 1; i >= 0; i--) this.#down(i);
  }

  #push(entry: TimerEntry): void {
    const heap = this.#heap;
    let i = heap.length;
    heap.push(entry);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent]!.at <= entry.at) break;
      heap[i] = heap[parent]!;
      i = parent;
    }
    heap[i] = entry;
  }

  #pop(): void {
    const heap = this.#heap;
    const last = heap.pop()!;
    if (heap.length === 0) return;
    heap[0] = last;
    this.#down(0);
  }

  #down(start: number): void {
    const heap = this.#heap;
    const n = heap.length;
    const entry = heap[start]!;
    let i = start;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && heap[child + 1]!.at < heap[child]!.at) child++;
      if (heap[child]!.at >= entry.at) break;
      heap[i] = heap[child]!;
      i = child;
    }
    heap[i] = entry;
  }
}
