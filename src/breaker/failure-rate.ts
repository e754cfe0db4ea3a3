import { z } from 'zod';
import {
  type Clock,
  CountWindow,
  MAX_COUNT_WINDOW_SIZE,
  MAX_TIME_WINDOW_BUCKETS,
  parseOptions,
  TimeWindow,
} from '../core/index.js';
import { parseSnapshot, restoreWindow } from './internal.js';
import {
  type BreakerPolicy,
  DEFAULT_BUCKETS,
  DEFAULT_WINDOW_MS,
  type PolicySnapshot,
  type PolicyState,
  ratio,
} from './policy.js';

/** Options of {@link failureRate}. Give `windowMs` (time window) or `windowSize` (last N calls). */
export interface FailureRateOptions {
  /** Trip when failures / calls in the window reaches this fraction, in (0, 1]. Default 0.5. */
  threshold?: number;
  /** Never trip on fewer calls than this in the window. Default 20. */
  minimumCalls?: number;
  /** Length of a time-based window in ms. Default 10 000 (when `windowSize` is not given). */
  windowMs?: number;
  /** Number of buckets a time window is divided into (its resolution). Default 10. */
  buckets?: number;
  /** Use a count-based window of the last `windowSize` calls instead of a time window. */
  windowSize?: number;
}

/** Resolved options of a {@link failureRate} policy. */
export type ResolvedFailureRateOptions =
  | {
      /** Failure fraction that trips. */
      threshold: number;
      /** Calls needed in the window before it may trip. */
      minimumCalls: number;
      /** Time window length. */
      windowMs: number;
      /** Buckets of the time window. */
      buckets: number;
    }
  | {
      /** Failure fraction that trips. */
      threshold: number;
      /** Calls needed in the window before it may trip. */
      minimumCalls: number;
      /** Count window length, in calls. */
      windowSize: number;
    };

/** A {@link BreakerPolicy} built by {@link failureRate}, with its resolved options. */
export interface FailureRatePolicy extends BreakerPolicy {
  /** Always `failureRate`. */
  readonly kind: 'failureRate';
  /** The options in effect, defaults applied. */
  readonly options: ResolvedFailureRateOptions;
}

const schema = z
  .strictObject({
    threshold: z.number().gt(0).max(1).default(0.5),
    minimumCalls: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).default(20),
    windowMs: z.number().finite().positive().optional(),
    buckets: z.number().int().min(1).max(MAX_TIME_WINDOW_BUCKETS).optional(),
    windowSize: z.number().int().min(1).max(MAX_COUNT_WINDOW_SIZE).optional(),
  })
  .superRefine((o, ctx) => {
    // Refinements still run after field errors: only compare values that passed them.
    if (o.windowSize === undefined) return;
    if (o.windowMs !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['windowSize'],
        message: 'give windowMs or windowSize, not both',
      });
    }
    if (o.buckets !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['buckets'],
        message: 'only applies to a time window (windowMs)',
      });
    }
    if (
      Number.isInteger(o.minimumCalls) &&
      Number.isInteger(o.windowSize) &&
      o.minimumCalls > o.windowSize
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['minimumCalls'],
        message: `must be <= windowSize (${o.windowSize}), or the window can never trip`,
      });
    }
  });

const snapshotSchema = z.strictObject({ kind: z.literal('failureRate'), window: z.unknown() });

class RateTimeState implements PolicyState {
  readonly timed = false;
  readonly measuresDuration = false;
  readonly throttles = false;
  readonly #threshold: number;
  readonly #minimumCalls: number;
  readonly #window: TimeWindow;
  readonly #clock: Clock;

  constructor(
    threshold: number,
    minimumCalls: number,
    windowMs: number,
    buckets: number,
    clock: Clock,
  ) {
    this.#threshold = threshold;
    this.#minimumCalls = minimumCalls;
    this.#clock = clock;
    // Rotated by a timer, so recording a call reads no clock.
    this.#window = new TimeWindow({ windowMs, buckets, clock });
  }

  admit(): boolean {
    return true;
  }

  record(failed: boolean): boolean {
    const w = this.#window;
    w.bump(1, failed ? 1 : 0);
    // Checked on successes too: reaching minimumCalls can trip an already high rate.
    const calls = w.totalA;
    return calls >= this.#minimumCalls && w.totalB / calls >= this.#threshold;
  }

  tripReason(): string {
    const w = this.#window;
    return `failure rate ${ratio(w.totalB, w.totalA)} of ${w.totalA} calls (threshold ${ratio(this.#threshold, 1)})`;
  }

  reset(): void {
    this.#window.clear();
  }

  toJSON(): PolicySnapshot {
    return { kind: 'failureRate', window: this.#window.toJSON() };
  }

  restore(snapshot: PolicySnapshot, path: string): void {
    const parsed = parseSnapshot(snapshotSchema, snapshot, path);
    restoreWindow(this.#window, parsed.window, `${path}.window`, this.#clock.now());
  }
}

class RateCountState implements PolicyState {
  readonly timed = false;
  readonly measuresDuration = false;
  readonly throttles = false;
  readonly #threshold: number;
  readonly #minimumCalls: number;
  readonly #ring: CountWindow;

  constructor(threshold: number, minimumCalls: number, windowSize: number) {
    this.#threshold = threshold;
    this.#minimumCalls = minimumCalls;
    this.#ring = new CountWindow({ size: windowSize });
  }

  admit(): boolean {
    return true;
  }

  record(failed: boolean): boolean {
    const ring = this.#ring;
    ring.push(failed);
    const calls = ring.filled;
    return calls >= this.#minimumCalls && ring.ones / calls >= this.#threshold;
  }

  tripReason(): string {
    const r = this.#ring;
    return `failure rate ${ratio(r.ones, r.filled)} of the last ${r.filled} calls (threshold ${ratio(this.#threshold, 1)})`;
  }

  reset(): void {
    this.#ring.clear();
  }

  toJSON(): PolicySnapshot {
    return { kind: 'failureRate', window: this.#ring.toJSON() };
  }

  restore(snapshot: PolicySnapshot, path: string): void {
    const parsed = parseSnapshot(snapshotSchema, snapshot, path);
    restoreWindow(this.#ring, parsed.window, `${path}.window`, 0);
  }
}

/**
 * Trip when the fraction of failed calls in a sliding window reaches `threshold`, once
 * the window holds at least `minimumCalls` calls. The window is either time-based
 * (`windowMs`, split into `buckets` that expire one by one) or count-based (the last
 * `windowSize` calls). Best for steady traffic, where a rate is meaningful and a few
 * scattered errors must not trip the breaker.
 *
 * @example
 * ```ts
 * import { circuitBreaker, failureRate } from 'girder/breaker';
 *
 * // time window: 50% of at least 20 calls over the last 10 s (10 buckets of 1 s)
 * circuitBreaker({ policy: failureRate({ threshold: 0.5, minimumCalls: 20, windowMs: 10_000 }) });
 * // count window: 30% of the last 100 calls
 * circuitBreaker({ policy: failureRate({ threshold: 0.3, minimumCalls: 50, windowSize: 100 }) });
 * ```
 */
export function failureRate(options: FailureRateOptions = {}): FailureRatePolicy {
  const o = parseOptions('failureRate', schema, options);
  if (o.windowSize !== undefined) {
    const { threshold, minimumCalls, windowSize } = o;
    return {
      kind: 'failureRate',
      options: { threshold, minimumCalls, windowSize },
      create: () => new RateCountState(threshold, minimumCalls, windowSize),
    };
  }
  const { threshold, minimumCalls } = o;
  const windowMs = o.windowMs ?? DEFAULT_WINDOW_MS;
  const buckets = o.buckets ?? DEFAULT_BUCKETS;
  return {
    kind: 'failureRate',
    options: { threshold, minimumCalls, windowMs, buckets },
    create: (clock) => new RateTimeState(threshold, minimumCalls, windowMs, buckets, clock),
  };
}
