// Sliding windows over numbers in preallocated typed arrays: no allocation per call.
// Internal to girder/breaker.
import type { Clock, TimerHandle } from '../core/index.js';

/**
 * A time-based sliding window of `size` buckets, each `widthMs` wide, holding two
 * counters (`a` and `b`, e.g. calls and failures). Totals are maintained incrementally;
 * buckets that slide out of the window are cleared as time moves on, at most `size`
 * of them per call (amortised O(1)). A clock that steps backwards is treated as
 * standing still.
 *
 * Two ways to feed it: `add(now, ...)` with the caller's time, or `bump(...)`, which
 * reads no clock at all — reading the clock costs more than the rest of a breaker's
 * bookkeeping — and relies on a timer that rotates the buckets at each boundary. The
 * timer is armed by the first `bump` after an idle period and stops once the window
 * is empty, so an idle window holds no timer. A late timer (a busy event loop) only
 * means a few calls land in the previous bucket.
 *
 * @internal
 */
export class TimeBuckets {
  /** Number of buckets. */
  readonly size: number;
  /** Width of one bucket in milliseconds. */
  readonly widthMs: number;
  /** First counter per bucket. */
  readonly a: Float64Array;
  /** Second counter per bucket. */
  readonly b: Float64Array;
  /** Sum of `a` over the window. */
  totalA = 0;
  /** Sum of `b` over the window. */
  totalB = 0;
  /** Absolute index (`floor(now / widthMs)`) of the newest bucket; -1 before the first use. */
  last = -1;
  #slot = 0;
  readonly #clock: Clock | undefined;
  #timer: TimerHandle | undefined;
  readonly #tick = () => {
    this.#timer = undefined;
    this.advance(this.#clock!.now());
    if (this.totalA > 0 || this.totalB > 0) this.#arm();
  };

  /** `clock` is needed only by `bump`. */
  constructor(windowMs: number, size: number, clock?: Clock) {
    this.size = size;
    this.widthMs = windowMs / size;
    this.a = new Float64Array(size);
    this.b = new Float64Array(size);
    this.#clock = clock;
  }

  /**
   * Add to the current bucket without reading the clock (see the class comment).
   * Requires a clock given to the constructor.
   */
  bump(a: number, b: number): void {
    if (this.#timer === undefined) this.#arm();
    const slot = this.#slot;
    this.a[slot]! += a;
    this.b[slot]! += b;
    this.totalA += a;
    this.totalB += b;
  }

  /** Bring the window up to date and schedule the rotation at the next bucket boundary. */
  #arm(): void {
    const clock = this.#clock!;
    const now = clock.now();
    this.advance(now);
    const boundary = (Math.max(this.last, Math.floor(now / this.widthMs)) + 1) * this.widthMs;
    // At least 1 ms, so a boundary lost to floating-point rounding cannot spin.
    this.#timer = clock.setTimeout(this.#tick, Math.max(1, Math.ceil(boundary - now)));
  }

  #disarm(): void {
    if (this.#timer !== undefined) {
      this.#clock!.clearTimeout(this.#timer);
      this.#timer = undefined;
    }
  }

  /** Slide the window to `now` and return the slot of the current bucket. */
  advance(now: number): number {
    const index = Math.floor(now / this.widthMs);
    const last = this.last;
    if (index <= last) return this.#slot;
    const size = this.size;
    if (last < 0 || index - last >= size) {
      this.a.fill(0);
      this.b.fill(0);
      this.totalA = 0;
      this.totalB = 0;
    } else {
      for (let i = last + 1; i <= index; i++) {
        const slot = i % size;
        this.totalA -= this.a[slot]!;
        this.totalB -= this.b[slot]!;
        this.a[slot] = 0;
        this.b[slot] = 0;
      }
    }
    this.last = index;
    this.#slot = index % size;
    return this.#slot;
  }

  /** Add to the current bucket's counters. */
  add(now: number, a: number, b: number): void {
    const slot = this.advance(now);
    this.a[slot]! += a;
    this.b[slot]! += b;
    this.totalA += a;
    this.totalB += b;
  }

  /** Forget everything (and stop the rotation timer). */
  clear(): void {
    this.#disarm();
    this.a.fill(0);
    this.b.fill(0);
    this.totalA = 0;
    this.totalB = 0;
    this.last = -1;
    this.#slot = 0;
  }

  /** Plain-data copy for snapshots. */
  toJSON(): TimeBucketsSnapshot {
    return { last: this.last, a: Array.from(this.a), b: Array.from(this.b) };
  }

  /** Load a snapshot taken from a window of the same size (checked by the caller). */
  load(snapshot: TimeBucketsSnapshot): void {
    this.clear();
    this.last = snapshot.last;
    this.#slot = snapshot.last < 0 ? 0 : snapshot.last % this.size;
    for (let i = 0; i < this.size; i++) {
      this.a[i] = snapshot.a[i]!;
      this.b[i] = snapshot.b[i]!;
      this.totalA += snapshot.a[i]!;
      this.totalB += snapshot.b[i]!;
    }
  }
}

/** Serialised {@link TimeBuckets}. @internal */
export interface TimeBucketsSnapshot {
  /** Absolute index of the newest bucket, -1 when empty. */
  last: number;
  /** First counter per bucket, in slot order. */
  a: number[];
  /** Second counter per bucket, in slot order. */
  b: number[];
}

/**
 * A count-based sliding window: the outcomes (0 or 1) of the last `size` calls in a
 * ring, with the number of ones kept incrementally.
 *
 * @internal
 */
export class CountRing {
  /** Capacity of the ring. */
  readonly size: number;
  readonly #ring: Uint8Array;
  /** Position the next outcome is written to. */
  #pos = 0;
  /** Number of outcomes held (up to `size`). */
  filled = 0;
  /** Number of ones among the held outcomes. */
  ones = 0;

  constructor(size: number) {
    this.size = size;
    this.#ring = new Uint8Array(size);
  }

  /** Push one outcome, evicting the oldest when full. */
  push(one: boolean): void {
    const ring = this.#ring;
    const pos = this.#pos;
    if (this.filled === this.size) this.ones -= ring[pos]!;
    else this.filled++;
    const bit = one ? 1 : 0;
    ring[pos] = bit;
    this.ones += bit;
    this.#pos = pos + 1 === this.size ? 0 : pos + 1;
  }

  /** Forget everything. */
  clear(): void {
    this.#ring.fill(0);
    this.#pos = 0;
    this.filled = 0;
    this.ones = 0;
  }

  /** Plain-data copy for snapshots: the held outcomes, oldest first. */
  toJSON(): number[] {
    const out: number[] = [];
    const start = this.filled === this.size ? this.#pos : 0;
    for (let i = 0; i < this.filled; i++) out.push(this.#ring[(start + i) % this.size]!);
    return out;
  }

  /** Load outcomes (oldest first); only the newest `size` are kept. */
  load(outcomes: readonly number[]): void {
    this.clear();
    for (const o of outcomes.slice(-this.size)) this.push(o === 1);
  }
}
