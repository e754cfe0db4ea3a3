import { z } from 'zod';
import {
  type Clock,
  functionSchema,
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
} from './policy.js';

/** Options of {@link adaptiveThrottle}. */
export interface AdaptiveThrottleOptions {
  /**
   * Multiplier of accepted requests: the client allows up to `k` requests per success
   * before dropping any. Lower is more aggressive; at least 1. Default 2 (the SRE
   * book's recommendation).
   */
  k?: number;
  /** Length of the history window in ms. Default 10 000. */
  windowMs?: number;
  /** Number of buckets the window is divided into. Default 10. */
  buckets?: number;
  /**
   * Requests always allowed per window before throttling starts, subtracted from the
   * numerator: with few requests nothing is dropped. Default 5.
   */
  protection?: number;
  /**
   * After this long without an admitted call, the next call passes regardless of the
   * drop probability: a probe that notices the dependency's recovery. Default 1 000 ms.
   */
  probeIntervalMs?: number;
  /** Random source in [0, 1); inject for deterministic tests. Default `Math.random`. */
  random?: () => number;
}

/** A {@link BreakerPolicy} built by {@link adaptiveThrottle}, with its resolved options. */
export interface AdaptiveThrottlePolicy extends BreakerPolicy {
  /** Always `adaptiveThrottle`. */
  readonly kind: 'adaptiveThrottle';
  /** The options in effect, defaults applied. */
  readonly options: Required<AdaptiveThrottleOptions>;
}

const schema = z.strictObject({
  k: z.number().finite().min(1).default(2),
  windowMs: z.number().finite().positive().default(DEFAULT_WINDOW_MS),
  buckets: z.number().int().min(1).max(MAX_TIME_WINDOW_BUCKETS).default(DEFAULT_BUCKETS),
  protection: z.number().finite().min(0).default(5),
  probeIntervalMs: z.number().finite().positive().default(1_000),
  random: functionSchema<() => number>().default(() => Math.random),
});

const snapshotSchema = z.strictObject({
  kind: z.literal('adaptiveThrottle'),
  window: z.unknown(),
  lastAdmittedAt: z.number().finite().nullable(),
});

class AdaptiveState implements PolicyState {
  readonly timed = true;
  readonly measuresDuration = false;
  readonly throttles = true;
  readonly #k: number;
  readonly #protection: number;
  readonly #probeIntervalMs: number;
  readonly #random: () => number;
  readonly #clock: Clock;
  /**
   * `a` = requests, counted at admission (admitted or dropped), `b` = accepts
   * (successes), counted when they settle.
   */
  readonly #window: TimeWindow;
  #lastAdmittedAt = Number.NEGATIVE_INFINITY;

  constructor(o: Required<AdaptiveThrottleOptions>, clock: Clock) {
    this.#k = o.k;
    this.#protection = o.protection;
    this.#probeIntervalMs = o.probeIntervalMs;
    this.#random = o.random;
    this.#clock = clock;
    this.#window = new TimeWindow({ windowMs: o.windowMs, buckets: o.buckets });
  }

  /** Current drop probability: max(0, (requests - protection - k·accepts) / (requests + 1)). */
  dropProbability(now: number): number {
    const w = this.#window;
    w.advance(now);
    const requests = w.totalA;
    const p = (requests - this.#protection - this.#k * w.totalB) / (requests + 1);
    return Math.max(p, 0);
  }

  admit(now: number): boolean {
    const w = this.#window;
    // Every attempt is a request, whether it goes ahead or not: calls in flight count.
    w.add(now, 1, 0);
    // The probability as it was before this attempt (see dropProbability).
    const requests = w.totalA - 1;
    const p = Math.max(0, (requests - this.#protection - this.#k * w.totalB) / (requests + 1));
    if (p === 0 || now - this.#lastAdmittedAt >= this.#probeIntervalMs || this.#random() >= p) {
      this.#lastAdmittedAt = now;
      return true;
    }
    return false;
  }

  record(failed: boolean, now: number): boolean {
    if (!failed) this.#window.add(now, 0, 1);
    return false;
  }

  cancelled(admittedAt: number): void {
    this.#window.subtract(admittedAt, 1, 0);
  }

  tripReason(): string {
    return 'adaptive throttling never trips';
  }

  reset(): void {
    this.#window.clear();
    this.#lastAdmittedAt = Number.NEGATIVE_INFINITY;
  }

  toJSON(): PolicySnapshot {
    const last = this.#lastAdmittedAt;
    return {
      kind: 'adaptiveThrottle',
      window: this.#window.snapshot(this.#clock.now()),
      lastAdmittedAt: Number.isFinite(last) ? last : null,
    };
  }

  restore(snapshot: PolicySnapshot, path: string): void {
    const parsed = parseSnapshot(snapshotSchema, snapshot, path);
    restoreWindow(this.#window, parsed.window, `${path}.window`, this.#clock.now());
    this.#lastAdmittedAt = parsed.lastAdmittedAt ?? Number.NEGATIVE_INFINITY;
  }
}

/**
 * Google SRE client-side adaptive throttling. Over a sliding window the client counts
 * `requests` (calls it attempted, counted when they are attempted — including the ones
 * it dropped and the ones still in flight) and `accepts` (calls that succeeded), and
 * drops each new call with probability
 * `max(0, (requests − protection − k·accepts) / (requests + 1))`. When the dependency
 * is healthy the probability is 0; as it fails or hangs, the client sheds load
 * smoothly in proportion — there is no open/closed flapping, and the breaker's `state`
 * stays `closed` (drops are `throttled` rejections). After `probeIntervalMs` without an
 * admitted call, one passes regardless, so recovery is noticed even at a drop
 * probability near 1. A call its caller cancels is taken back out of `requests`.
 * Combine with another policy via `anyOf` to also trip.
 *
 * @example
 * ```ts
 * import { adaptiveThrottle, circuitBreaker } from 'girder/breaker';
 *
 * const breaker = circuitBreaker({ policy: adaptiveThrottle({ k: 2, windowMs: 60_000 }) });
 * ```
 */
export function adaptiveThrottle(options: AdaptiveThrottleOptions = {}): AdaptiveThrottlePolicy {
  const resolved = parseOptions('adaptiveThrottle', schema, options);
  return {
    kind: 'adaptiveThrottle',
    options: resolved,
    create: (clock) => new AdaptiveState(resolved, clock),
  };
}
