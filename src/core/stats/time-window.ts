// A time-based sliding window over two counters, in preallocated typed arrays: no
// allocation per call. Shared by the breaker's policies and the balancers.
import { z } from 'zod';
import type { Clock, TimerHandle } from '../clock.js';
import { InvalidArgumentError, InvalidOptionsError, type OptionIssue } from '../errors.js';
import { clockSchema, parseOptions } from '../options.js';
import { type LoadOptions, snapshotIssues } from './snapshot.js';

/** Options of a {@link TimeWindow}. */
export interface TimeWindowOptions {
  /** Length of the window, ms (finite, positive). */
  windowMs: number;
  /** Number of buckets the window is divided into (its resolution), 1 to 10 000. */
  buckets: number;
  /** Needed only by {@link TimeWindow.bump}, which rotates the buckets on this clock's timer. */
  clock?: Clock;
}

/** One non-empty bucket of a {@link TimeWindowSnapshot}. */
export interface TimeBucketSnapshot {
  /** Absolute start of the bucket, in the clock's time (epoch ms with `systemClock`). */
  readonly startMs: number;
  /** First counter. */
  readonly a: number;
  /** Second counter. */
  readonly b: number;
}

/**
 * Serialised {@link TimeWindow}: its geometry, and its non-empty buckets with absolute
 * start times, so a restored window ages them out at the right moment.
 */
export interface TimeWindowSnapshot {
  /** Always `time`. */
  readonly kind: 'time';
  /** Length of the window, ms. */
  readonly windowMs: number;
  /** Number of buckets. */
  readonly bucketCount: number;
  /** Width of one bucket, ms (`windowMs / bucketCount`). */
  readonly bucketMs: number;
  /** The non-empty buckets, oldest first. */
  readonly buckets: readonly TimeBucketSnapshot[];
}

/** The largest number of buckets a time window may have. */
export const MAX_TIME_WINDOW_BUCKETS = 10_000;

const optionsSchema = z.strictObject({
  windowMs: z.number().finite().positive(),
  buckets: z.number().int().min(1).max(MAX_TIME_WINDOW_BUCKETS),
  clock: clockSchema.optional(),
});

const counter = z.number().finite().min(0);

/** Zod schema of a {@link TimeWindowSnapshot} (shape only; geometry is checked by `load`). */
export const timeWindowSnapshotSchema = z.strictObject({
  kind: z.literal('time'),
  windowMs: z.number().finite().positive(),
  bucketCount: z.number().int().min(1).max(MAX_TIME_WINDOW_BUCKETS),
  bucketMs: z.number().finite().positive(),
  buckets: z.array(z.strictObject({ startMs: z.number().finite(), a: counter, b: counter })),
});

/**
 * A time-based sliding window of `buckets` buckets, each `windowMs / buckets` wide,
 * holding two counters (`a` and `b`, e.g. calls and failures). Totals are kept
 * incrementally; buckets that slide out of the window are cleared as time moves on, at
 * most `buckets` of them per call (amortised O(1)). A clock that steps backwards is
 * treated as standing still.
 *
 * Two ways to feed it: {@link TimeWindow.add} with the caller's time, or
 * {@link TimeWindow.bump}, which reads no clock at all — reading the clock costs more
 * than the rest of a breaker's bookkeeping — and relies on a timer that rotates the
 * buckets at each boundary. The timer is armed by the first `bump` after an idle period
 * and stops once the window is empty, so an idle window holds no timer. A late timer (a
 * busy event loop) only means a few calls land in the previous bucket. Use one style per
 * window.
 *
 * @example
 * ```ts
 * import { TimeWindow } from 'girder/core';
 *
 * const w = new TimeWindow({ windowMs: 10_000, buckets: 10 });
 * w.add(Date.now(), 1, 0); // a call that succeeded
 * w.add(Date.now(), 1, 1); // a call that failed
 * const failureRate = w.totalB / w.totalA; // 0.5 over the last 10 s
 * ```
 */
export class TimeWindow {
  /** Length of the window, ms. */
  readonly windowMs: number;
  /** Number of buckets. */
  readonly bucketCount: number;
  /** Width of one bucket, ms. */
  readonly bucketMs: number;
  readonly #a: Float64Array;
  readonly #b: Float64Array;
  #totalA = 0;
  #totalB = 0;
  /** Absolute index (`floor(now / bucketMs)`) of the newest bucket; -1 before the first use. */
  #last = -1;
  #slot = 0;
  readonly #clock: Clock | undefined;
  #timer: TimerHandle | undefined;
  readonly #tick = () => {
    this.#timer = undefined;
    this.advance(this.#clock!.now());
    if (this.#totalA > 0 || this.#totalB > 0) this.#arm();
  };

  /** Throws `InvalidOptionsError` naming a bad option. */
  constructor(options: TimeWindowOptions) {
    const o = parseOptions('TimeWindow', optionsSchema, options);
    this.windowMs = o.windowMs;
    this.bucketCount = o.buckets;
    this.bucketMs = o.windowMs / o.buckets;
    this.#a = new Float64Array(o.buckets);
    this.#b = new Float64Array(o.buckets);
    this.#clock = o.clock;
  }

  /** Sum of the first counter over the window (as of the last update). */
  get totalA(): number {
    return this.#totalA;
  }

  /** Sum of the second counter over the window (as of the last update). */
  get totalB(): number {
    return this.#totalB;
  }

  /**
   * Add to the current bucket without reading the clock (see the class comment).
   * Requires the `clock` option.
   */
  bump(a: number, b: number): void {
    if (this.#timer === undefined) this.#arm();
    const slot = this.#slot;
    this.#a[slot]! += a;
    this.#b[slot]! += b;
    this.#totalA += a;
    this.#totalB += b;
  }

  /** Bring the window up to date and schedule the rotation at the next bucket boundary. */
  #arm(): void {
    const clock = this.#clock;
    if (clock === undefined) {
      throw new InvalidArgumentError('clock', 'TimeWindow.bump needs the clock option');
    }
    const now = clock.now();
    this.advance(now);
    const boundary = (Math.max(this.#last, Math.floor(now / this.bucketMs)) + 1) * this.bucketMs;
    // At least 1 ms, so a boundary lost to floating-point rounding cannot spin.
    this.#timer = clock.setTimeout(this.#tick, Math.max(1, Math.ceil(boundary - now)));
  }

  #disarm(): void {
    if (this.#timer !== undefined) {
      this.#clock!.clearTimeout(this.#timer);
      this.#timer = undefined;
    }
  }

  /** Slide the window to `now` (forgetting buckets that left it); returns the current slot. */
  advance(now: number): number {
    const index = Math.floor(now / this.bucketMs);
    const last = this.#last;
    if (index <= last) return this.#slot;
    const size = this.bucketCount;
    if (last < 0 || index - last >= size) {
      this.#a.fill(0);
      this.#b.fill(0);
      this.#totalA = 0;
      this.#totalB = 0;
    } else {
      for (let i = last + 1; i <= index; i++) {
        const slot = i % size;
        this.#totalA -= this.#a[slot]!;
        this.#totalB -= this.#b[slot]!;
        this.#a[slot] = 0;
        this.#b[slot] = 0;
      }
    }
    this.#last = index;
    this.#slot = index % size;
    return this.#slot;
  }

  /** Add to the counters of the bucket holding `now` (sliding the window first). */
  add(now: number, a: number, b: number): void {
    const slot = this.advance(now);
    this.#a[slot]! += a;
    this.#b[slot]! += b;
    this.#totalA += a;
    this.#totalB += b;
  }

  /**
   * Take back what was added at time `at`, if its bucket is still in the window
   * (never below zero). For an event that turns out not to count, e.g. a call its
   * caller cancelled.
   */
  subtract(at: number, a: number, b: number): void {
    const index = Math.floor(at / this.bucketMs);
    const last = this.#last;
    if (last < 0 || index > last || index <= last - this.bucketCount) return;
    const slot = index % this.bucketCount;
    const da = Math.min(a, this.#a[slot]!);
    const db = Math.min(b, this.#b[slot]!);
    this.#a[slot]! -= da;
    this.#b[slot]! -= db;
    this.#totalA -= da;
    this.#totalB -= db;
  }

  /** Forget everything (and stop the rotation timer). */
  clear(): void {
    this.#disarm();
    this.#a.fill(0);
    this.#b.fill(0);
    this.#totalA = 0;
    this.#totalB = 0;
    this.#last = -1;
    this.#slot = 0;
  }

  /**
   * Plain-data copy: the geometry and the non-empty buckets with absolute start times,
   * leaving out buckets that have left the window by `now` (default: the clock's time,
   * if the window has a clock). Does not change the window.
   */
  snapshot(now?: number): TimeWindowSnapshot {
    const buckets: TimeBucketSnapshot[] = [];
    const last = this.#last;
    if (last >= 0) {
      const size = this.bucketCount;
      const at = now ?? this.#clock?.now();
      const current = at === undefined ? last : Math.max(last, Math.floor(at / this.bucketMs));
      for (let i = Math.max(0, current - size + 1); i <= last; i++) {
        const slot = i % size;
        const a = this.#a[slot]!;
        const b = this.#b[slot]!;
        if (a !== 0 || b !== 0) buckets.push({ startMs: i * this.bucketMs, a, b });
      }
    }
    return {
      kind: 'time',
      windowMs: this.windowMs,
      bucketCount: this.bucketCount,
      bucketMs: this.bucketMs,
      buckets,
    };
  }

  /** Same as {@link TimeWindow.snapshot} at the clock's time (for `JSON.stringify`). */
  toJSON(): TimeWindowSnapshot {
    return this.snapshot();
  }

  /**
   * Replace the contents with a snapshot from {@link TimeWindow.toJSON}. The snapshot
   * must have this window's geometry (`windowMs`, `bucketCount`, `bucketMs`), aligned
   * and increasing bucket times, and no bucket later than `now`; otherwise it throws
   * `InvalidOptionsError` naming every offending field (prefixed with `options.path`)
   * and leaves the window unchanged. Buckets older than the window at `now` are dropped.
   */
  load(snapshot: unknown, options: LoadOptions = {}): void {
    const path = options.path ?? 'window';
    const owner = options.owner ?? 'TimeWindow';
    const parsed = timeWindowSnapshotSchema.safeParse(snapshot);
    if (!parsed.success) throw new InvalidOptionsError(owner, snapshotIssues(parsed.error, path));
    const s = parsed.data;
    const now = options.now ?? this.#clock?.now();
    const issues: OptionIssue[] = [];
    const mismatch = (field: 'windowMs' | 'bucketCount' | 'bucketMs', mine: number) => {
      if (s[field] !== mine) {
        issues.push({
          path: `${path}.${field}`,
          message: `is ${s[field]} but the window is configured with ${mine}`,
        });
      }
    };
    mismatch('windowMs', this.windowMs);
    mismatch('bucketCount', this.bucketCount);
    mismatch('bucketMs', this.bucketMs);
    if (issues.length > 0) throw new InvalidOptionsError(owner, issues);
    const indices: number[] = [];
    s.buckets.forEach((bucket, i) => {
      const at = `${path}.buckets.${i}.startMs`;
      const index = Math.round(bucket.startMs / this.bucketMs);
      if (index * this.bucketMs !== bucket.startMs) {
        issues.push({ path: at, message: `is not a multiple of bucketMs (${this.bucketMs})` });
      } else if (i > 0 && index <= indices[i - 1]!) {
        issues.push({ path: at, message: 'buckets must be in increasing time order' });
      } else if (now !== undefined && bucket.startMs > now) {
        issues.push({ path: at, message: `is later than the clock's now (${now})` });
      }
      indices.push(index);
    });
    if (issues.length > 0) throw new InvalidOptionsError(owner, issues);
    this.clear();
    if (indices.length === 0) return;
    const newest = indices[indices.length - 1]!;
    const size = this.bucketCount;
    s.buckets.forEach((bucket, i) => {
      const index = indices[i]!;
      if (index <= newest - size) return; // older than the window the snapshot described
      const slot = index % size;
      this.#a[slot] = bucket.a;
      this.#b[slot] = bucket.b;
      this.#totalA += bucket.a;
      this.#totalB += bucket.b;
    });
    this.#last = newest;
    this.#slot = newest % size;
    if (now !== undefined) this.advance(now);
    if (this.#clock !== undefined && (this.#totalA > 0 || this.#totalB > 0)) this.#arm();
  }
}
