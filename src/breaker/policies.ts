import { z } from 'zod';
import { type Clock, InvalidArgumentError, parseOptions } from '../core/index.js';
import { parseSnapshot, snapshotMismatch } from './internal.js';
import { CountRing, TimeBuckets } from './window.js';

/**
 * Serialised state of a policy, part of a breaker's `toJSON()` snapshot. `kind` names
 * the policy; the other fields are the policy's own.
 */
export interface PolicySnapshot {
  /** The policy that produced this snapshot, e.g. `failureRate`. */
  readonly kind: string;
  /** Policy-specific fields. */
  readonly [field: string]: unknown;
}

/**
 * The per-breaker, mutable state of a {@link BreakerPolicy}. The breaker calls it on
 * every call, so implementations keep numbers in preallocated structures and never
 * allocate in `admit` or `record`.
 */
export interface PolicyState {
  /** True when `record` needs the current time (the breaker then reads its clock). */
  readonly timed: boolean;
  /** True when `record` needs the call's duration (the breaker then times each call). */
  readonly measuresDuration: boolean;
  /** True when `admit` may refuse calls while the breaker is closed (adaptive throttling). */
  readonly throttles: boolean;
  /**
   * Closed state only, and only called when `throttles` is true: may this call go
   * ahead? A refusal is reported as a `throttled` rejection; the breaker stays closed.
   */
  admit(now: number): boolean;
  /**
   * Record the outcome of one call made while closed. Return true to trip the breaker.
   * `now` is 0 unless `timed`; `durationMs` is 0 unless `measuresDuration`.
   */
  record(failed: boolean, now: number, durationMs: number): boolean;
  /** Human-readable reason of the last trip, e.g. `5 consecutive failures`. */
  tripReason(): string;
  /** Forget all history (called when the breaker closes after a full recovery). */
  reset(): void;
  /** Serialise the state for a breaker snapshot. */
  toJSON(): PolicySnapshot;
  /**
   * Load a snapshot produced by `toJSON`. Throw `InvalidOptionsError` (with `path` as
   * the prefix of every issue) when it is malformed or from a differently sized window.
   */
  restore(snapshot: PolicySnapshot, path: string): void;
}

/**
 * A tripping policy: immutable configuration that creates fresh state for every
 * breaker using it, so one policy object can configure many breakers. Build one with
 * {@link consecutiveFailures}, {@link failureRate}, {@link slowCalls},
 * {@link adaptiveThrottle} or {@link anyOf} — or implement your own.
 *
 * @example
 * ```ts
 * import { circuitBreaker, failureRate } from 'girder/breaker';
 *
 * const policy = failureRate({ threshold: 0.5, minimumCalls: 20, windowMs: 10_000 });
 * const payments = circuitBreaker({ name: 'payments', policy });
 * const shipping = circuitBreaker({ name: 'shipping', policy }); // independent state
 * ```
 */
export interface BreakerPolicy {
  /** Name of the policy, e.g. `consecutiveFailures`. */
  readonly kind: string;
  /** Create the state of one breaker, which uses `clock`. */
  create(clock: Clock): PolicyState;
}

/** True when `value` looks like a {@link BreakerPolicy}. */
export function isBreakerPolicy(value: unknown): value is BreakerPolicy {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as BreakerPolicy).kind === 'string' &&
    typeof (value as BreakerPolicy).create === 'function'
  );
}

const ratio = (value: number, of: number) => `${Math.round((value / of) * 1000) / 10}%`;

// ---------------------------------------------------------------------------------
// consecutiveFailures

/** Options of {@link consecutiveFailures}. */
export interface ConsecutiveFailuresOptions {
  /** Trip after this many failures in a row (any success resets the streak). Default 5. */
  threshold?: number;
}

/** A {@link BreakerPolicy} built by {@link consecutiveFailures}, with its resolved options. */
export interface ConsecutiveFailuresPolicy extends BreakerPolicy {
  /** Always `consecutiveFailures`. */
  readonly kind: 'consecutiveFailures';
  /** The options in effect, defaults applied. */
  readonly options: Required<ConsecutiveFailuresOptions>;
}

const consecutiveSchema = z.strictObject({
  threshold: z.number().int().min(1).default(5),
});

const consecutiveSnapshot = z.object({
  kind: z.literal('consecutiveFailures'),
  failures: z.number().int().min(0),
});

class ConsecutiveState implements PolicyState {
  readonly timed = false;
  readonly measuresDuration = false;
  readonly throttles = false;
  readonly #threshold: number;
  #failures = 0;

  constructor(threshold: number) {
    this.#threshold = threshold;
  }

  admit(): boolean {
    return true;
  }

  record(failed: boolean): boolean {
    if (failed) return ++this.#failures >= this.#threshold;
    this.#failures = 0;
    return false;
  }

  tripReason(): string {
    return `${this.#failures} consecutive failures (threshold ${this.#threshold})`;
  }

  reset(): void {
    this.#failures = 0;
  }

  toJSON(): PolicySnapshot {
    return { kind: 'consecutiveFailures', failures: this.#failures };
  }

  restore(snapshot: PolicySnapshot, path: string): void {
    this.#failures = parseSnapshot(consecutiveSnapshot, snapshot, path).failures;
  }
}

/**
 * Trip after `threshold` failures in a row. The simplest policy and the cheapest: one
 * counter, no clock. Best for low or bursty traffic, where a rate over a window has
 * too few samples to mean anything.
 *
 * @example
 * ```ts
 * import { circuitBreaker, consecutiveFailures } from 'girder/breaker';
 *
 * const breaker = circuitBreaker({ policy: consecutiveFailures({ threshold: 5 }), openMs: 10_000 });
 * ```
 */
export function consecutiveFailures(
  options: ConsecutiveFailuresOptions = {},
): ConsecutiveFailuresPolicy {
  const resolved = parseOptions('consecutiveFailures', consecutiveSchema, options);
  return {
    kind: 'consecutiveFailures',
    options: resolved,
    create: () => new ConsecutiveState(resolved.threshold),
  };
}

// ---------------------------------------------------------------------------------
// failureRate

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

const DEFAULT_WINDOW_MS = 10_000;
const DEFAULT_BUCKETS = 10;
const MAX_BUCKETS = 10_000;
const MAX_WINDOW_SIZE = 1_000_000;

const failureRateSchema = z
  .strictObject({
    threshold: z.number().gt(0).max(1).default(0.5),
    minimumCalls: z.number().int().min(1).default(20),
    windowMs: z.number().finite().positive().optional(),
    buckets: z.number().int().min(1).max(MAX_BUCKETS).optional(),
    windowSize: z.number().int().min(1).max(MAX_WINDOW_SIZE).optional(),
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

const bucketsSnapshot = z.object({
  last: z.number().int().min(-1),
  a: z.array(z.number().finite().min(0)),
  b: z.array(z.number().finite().min(0)),
});

const rateTimeSnapshot = z.object({
  kind: z.literal('failureRate'),
  window: bucketsSnapshot,
});

const rateCountSnapshot = z.object({
  kind: z.literal('failureRate'),
  outcomes: z.array(z.union([z.literal(0), z.literal(1)])),
});

function loadBuckets(
  window: TimeBuckets,
  snapshot: z.output<typeof bucketsSnapshot>,
  path: string,
): void {
  if (snapshot.a.length !== window.size || snapshot.b.length !== window.size) {
    snapshotMismatch(
      `${path}.window`,
      `has ${snapshot.a.length} buckets but the policy is configured with ${window.size}`,
    );
  }
  window.load(snapshot);
}

class RateTimeState implements PolicyState {
  readonly timed = false;
  readonly measuresDuration = false;
  readonly throttles = false;
  readonly #threshold: number;
  readonly #minimumCalls: number;
  readonly #window: TimeBuckets;

  constructor(
    threshold: number,
    minimumCalls: number,
    windowMs: number,
    buckets: number,
    clock: Clock,
  ) {
    this.#threshold = threshold;
    this.#minimumCalls = minimumCalls;
    // Rotated by a timer, so recording a call reads no clock.
    this.#window = new TimeBuckets(windowMs, buckets, clock);
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
    loadBuckets(this.#window, parseSnapshot(rateTimeSnapshot, snapshot, path).window, path);
  }
}

class RateCountState implements PolicyState {
  readonly timed = false;
  readonly measuresDuration = false;
  readonly throttles = false;
  readonly #threshold: number;
  readonly #minimumCalls: number;
  readonly #ring: CountRing;

  constructor(threshold: number, minimumCalls: number, windowSize: number) {
    this.#threshold = threshold;
    this.#minimumCalls = minimumCalls;
    this.#ring = new CountRing(windowSize);
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
    return { kind: 'failureRate', outcomes: this.#ring.toJSON() };
  }

  restore(snapshot: PolicySnapshot, path: string): void {
    const parsed = parseSnapshot(rateCountSnapshot, snapshot, path);
    this.#ring.load(parsed.outcomes);
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
  const o = parseOptions('failureRate', failureRateSchema, options);
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

// ---------------------------------------------------------------------------------
// slowCalls

/** Options of {@link slowCalls}. */
export interface SlowCallsOptions {
  /** A call taking at least this long (ms) is slow. Required. */
  slowMs: number;
  /** Trip when slow calls / calls in the window reaches this fraction, in (0, 1]. Default 0.5. */
  rate?: number;
  /** Never trip on fewer calls than this in the window. Default 20. */
  minimumCalls?: number;
  /** Length of the time window in ms. Default 10 000. */
  windowMs?: number;
  /** Number of buckets the window is divided into. Default 10. */
  buckets?: number;
}

/** A {@link BreakerPolicy} built by {@link slowCalls}, with its resolved options. */
export interface SlowCallsPolicy extends BreakerPolicy {
  /** Always `slowCalls`. */
  readonly kind: 'slowCalls';
  /** The options in effect, defaults applied. */
  readonly options: Required<SlowCallsOptions>;
}

const slowCallsSchema = z.strictObject({
  slowMs: z.number().finite().positive(),
  rate: z.number().gt(0).max(1).default(0.5),
  minimumCalls: z.number().int().min(1).default(20),
  windowMs: z.number().finite().positive().default(DEFAULT_WINDOW_MS),
  buckets: z.number().int().min(1).max(MAX_BUCKETS).default(DEFAULT_BUCKETS),
});

const slowSnapshot = z.object({ kind: z.literal('slowCalls'), window: bucketsSnapshot });

class SlowCallsState implements PolicyState {
  readonly timed = true;
  readonly measuresDuration = true;
  readonly throttles = false;
  readonly #o: Required<SlowCallsOptions>;
  readonly #window: TimeBuckets;

  constructor(options: Required<SlowCallsOptions>) {
    this.#o = options;
    this.#window = new TimeBuckets(options.windowMs, options.buckets);
  }

  admit(): boolean {
    return true;
  }

  record(_failed: boolean, now: number, durationMs: number): boolean {
    const w = this.#window;
    const slow = durationMs >= this.#o.slowMs;
    w.add(now, 1, slow ? 1 : 0);
    const calls = w.totalA;
    return calls >= this.#o.minimumCalls && w.totalB / calls >= this.#o.rate;
  }

  tripReason(): string {
    const w = this.#window;
    return `${ratio(w.totalB, w.totalA)} of ${w.totalA} calls took >= ${this.#o.slowMs} ms (threshold ${ratio(this.#o.rate, 1)})`;
  }

  reset(): void {
    this.#window.clear();
  }

  toJSON(): PolicySnapshot {
    return { kind: 'slowCalls', window: this.#window.toJSON() };
  }

  restore(snapshot: PolicySnapshot, path: string): void {
    loadBuckets(this.#window, parseSnapshot(slowSnapshot, snapshot, path).window, path);
  }
}

/**
 * Trip when the fraction of calls taking at least `slowMs` reaches `rate` over a time
 * window (once it holds `minimumCalls` calls). Every completed call counts, failed or
 * not. It catches a dependency that degrades by slowing down before it errors — and
 * protects your own concurrency from piling up behind it. A call that never settles
 * is never measured: put a timeout inside the breaker as well.
 *
 * @example
 * ```ts
 * import { anyOf, circuitBreaker, failureRate, slowCalls } from 'girder/breaker';
 *
 * const breaker = circuitBreaker({
 *   policy: anyOf(failureRate({ threshold: 0.5 }), slowCalls({ slowMs: 800, rate: 0.8 })),
 * });
 * ```
 */
export function slowCalls(options: SlowCallsOptions): SlowCallsPolicy {
  const resolved = parseOptions('slowCalls', slowCallsSchema, options);
  return { kind: 'slowCalls', options: resolved, create: () => new SlowCallsState(resolved) };
}

// ---------------------------------------------------------------------------------
// adaptiveThrottle

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

const adaptiveSchema = z.strictObject({
  k: z.number().finite().min(1).default(2),
  windowMs: z.number().finite().positive().default(DEFAULT_WINDOW_MS),
  buckets: z.number().int().min(1).max(MAX_BUCKETS).default(DEFAULT_BUCKETS),
  protection: z.number().finite().min(0).default(5),
  probeIntervalMs: z.number().finite().positive().default(1_000),
  random: z
    .custom<() => number>((v) => typeof v === 'function', { message: 'must be a function' })
    .default(() => Math.random),
});

const adaptiveSnapshot = z.object({
  kind: z.literal('adaptiveThrottle'),
  window: bucketsSnapshot,
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
  /** `a` = requests (admitted and settled, or dropped), `b` = accepts (successes). */
  readonly #window: TimeBuckets;
  #lastAdmittedAt = Number.NEGATIVE_INFINITY;

  constructor(o: Required<AdaptiveThrottleOptions>) {
    this.#k = o.k;
    this.#protection = o.protection;
    this.#probeIntervalMs = o.probeIntervalMs;
    this.#random = o.random;
    this.#window = new TimeBuckets(o.windowMs, o.buckets);
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
    const p = this.dropProbability(now);
    if (p === 0 || now - this.#lastAdmittedAt >= this.#probeIntervalMs || this.#random() >= p) {
      this.#lastAdmittedAt = now;
      return true;
    }
    this.#window.add(now, 1, 0);
    return false;
  }

  record(failed: boolean, now: number): boolean {
    this.#window.add(now, 1, failed ? 0 : 1);
    return false;
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
      window: this.#window.toJSON(),
      lastAdmittedAt: Number.isFinite(last) ? last : null,
    };
  }

  restore(snapshot: PolicySnapshot, path: string): void {
    const parsed = parseSnapshot(adaptiveSnapshot, snapshot, path);
    loadBuckets(this.#window, parsed.window, path);
    this.#lastAdmittedAt = parsed.lastAdmittedAt ?? Number.NEGATIVE_INFINITY;
  }
}

/**
 * Google SRE client-side adaptive throttling. Over a sliding window the client counts
 * `requests` (calls it attempted, including the ones it dropped) and `accepts` (calls
 * that succeeded), and drops each new call with probability
 * `max(0, (requests − protection − k·accepts) / (requests + 1))`. When the dependency
 * is healthy the probability is 0; as it fails, the client sheds load smoothly in
 * proportion — there is no open/closed flapping, and the breaker's `state` stays
 * `closed` (drops are `throttled` rejections). After `probeIntervalMs` without an
 * admitted call, one passes regardless, so recovery is noticed even at a drop
 * probability near 1. Combine with another policy via {@link anyOf} to also trip.
 *
 * @example
 * ```ts
 * import { adaptiveThrottle, circuitBreaker } from 'girder/breaker';
 *
 * const breaker = circuitBreaker({ policy: adaptiveThrottle({ k: 2, windowMs: 60_000 }) });
 * ```
 */
export function adaptiveThrottle(options: AdaptiveThrottleOptions = {}): AdaptiveThrottlePolicy {
  const resolved = parseOptions('adaptiveThrottle', adaptiveSchema, options);
  return { kind: 'adaptiveThrottle', options: resolved, create: () => new AdaptiveState(resolved) };
}

// ---------------------------------------------------------------------------------
// anyOf

/** A {@link BreakerPolicy} built by {@link anyOf}. */
export interface AnyOfPolicy extends BreakerPolicy {
  /** Always `anyOf`. */
  readonly kind: 'anyOf';
  /** The combined policies, in order. */
  readonly policies: readonly BreakerPolicy[];
}

const anyOfSnapshot = z.object({
  kind: z.literal('anyOf'),
  policies: z.array(z.looseObject({ kind: z.string() })),
});

class AnyOfState implements PolicyState {
  readonly timed: boolean;
  readonly measuresDuration: boolean;
  readonly throttles: boolean;
  readonly #children: PolicyState[];
  readonly #throttlers: PolicyState[];
  readonly #kinds: string[];
  #tripped = -1;

  constructor(policies: readonly BreakerPolicy[], clock: Clock) {
    this.#children = policies.map((p) => p.create(clock));
    this.#kinds = policies.map((p) => p.kind);
    this.#throttlers = this.#children.filter((c) => c.throttles);
    this.timed = this.#children.some((c) => c.timed);
    this.measuresDuration = this.#children.some((c) => c.measuresDuration);
    this.throttles = this.#throttlers.length > 0;
  }

  admit(now: number): boolean {
    const throttlers = this.#throttlers;
    for (let i = 0; i < throttlers.length; i++) if (!throttlers[i]!.admit(now)) return false;
    return true;
  }

  record(failed: boolean, now: number, durationMs: number): boolean {
    const children = this.#children;
    let tripped = -1;
    for (let i = 0; i < children.length; i++) {
      if (children[i]!.record(failed, now, durationMs) && tripped < 0) tripped = i;
    }
    if (tripped < 0) return false;
    this.#tripped = tripped;
    return true;
  }

  tripReason(): string {
    const i = this.#tripped;
    return i < 0 ? 'not tripped' : `${this.#kinds[i]}: ${this.#children[i]!.tripReason()}`;
  }

  reset(): void {
    for (const c of this.#children) c.reset();
    this.#tripped = -1;
  }

  toJSON(): PolicySnapshot {
    return { kind: 'anyOf', policies: this.#children.map((c) => c.toJSON()) };
  }

  restore(snapshot: PolicySnapshot, path: string): void {
    const parsed = parseSnapshot(anyOfSnapshot, snapshot, path);
    if (parsed.policies.length !== this.#children.length) {
      snapshotMismatch(
        `${path}.policies`,
        `has ${parsed.policies.length} policies but ${this.#children.length} are configured`,
      );
    }
    parsed.policies.forEach((child, i) => {
      if (child.kind !== this.#kinds[i]) {
        snapshotMismatch(
          `${path}.policies.${i}.kind`,
          `is "${child.kind}" but "${this.#kinds[i]}" is configured`,
        );
      }
      this.#children[i]!.restore(child, `${path}.policies.${i}`);
    });
  }
}

/**
 * Combine policies: the breaker trips as soon as any of them trips, and (for
 * throttling policies) admits a call only if all of them admit it. Every policy sees
 * every outcome. Passing an array as `policy` to `circuitBreaker` does the same.
 *
 * @example
 * ```ts
 * import { anyOf, circuitBreaker, consecutiveFailures, failureRate } from 'girder/breaker';
 *
 * // trip fast on a hard outage, and on a sustained 50% error rate
 * const policy = anyOf(consecutiveFailures({ threshold: 10 }), failureRate({ threshold: 0.5 }));
 * const breaker = circuitBreaker({ policy });
 * ```
 */
export function anyOf(...policies: BreakerPolicy[]): AnyOfPolicy {
  if (policies.length === 0) throw new InvalidArgumentError('policies', 'give at least one policy');
  policies.forEach((p, i) => {
    if (!isBreakerPolicy(p)) {
      throw new InvalidArgumentError(`policies[${i}]`, 'is not a breaker policy (kind + create())');
    }
  });
  const frozen = Object.freeze([...policies]);
  return { kind: 'anyOf', policies: frozen, create: (clock) => new AnyOfState(frozen, clock) };
}
