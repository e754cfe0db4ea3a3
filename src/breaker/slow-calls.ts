import { z } from 'zod';
import { type Clock, MAX_TIME_WINDOW_BUCKETS, parseOptions, TimeWindow } from '../core/index.js';
import { parseSnapshot, restoreWindow } from './internal.js';
import {
  type BreakerPolicy,
  DEFAULT_BUCKETS,
  DEFAULT_WINDOW_MS,
  type PolicySnapshot,
  type PolicyState,
  ratio,
} from './policy.js';

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

const schema = z.strictObject({
  slowMs: z.number().finite().positive(),
  rate: z.number().gt(0).max(1).default(0.5),
  minimumCalls: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).default(20),
  windowMs: z.number().finite().positive().default(DEFAULT_WINDOW_MS),
  buckets: z.number().int().min(1).max(MAX_TIME_WINDOW_BUCKETS).default(DEFAULT_BUCKETS),
});

const snapshotSchema = z.strictObject({ kind: z.literal('slowCalls'), window: z.unknown() });

class SlowCallsState implements PolicyState {
  readonly timed = true;
  readonly measuresDuration = true;
  readonly throttles = false;
  readonly #o: Required<SlowCallsOptions>;
  readonly #window: TimeWindow;
  readonly #clock: Clock;

  constructor(options: Required<SlowCallsOptions>, clock: Clock) {
    this.#o = options;
    this.#clock = clock;
    this.#window = new TimeWindow({ windowMs: options.windowMs, buckets: options.buckets });
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
    return { kind: 'slowCalls', window: this.#window.snapshot(this.#clock.now()) };
  }

  restore(snapshot: PolicySnapshot, path: string): void {
    const parsed = parseSnapshot(snapshotSchema, snapshot, path);
    restoreWindow(this.#window, parsed.window, `${path}.window`, this.#clock.now());
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
  const resolved = parseOptions('slowCalls', schema, options);
  return {
    kind: 'slowCalls',
    options: resolved,
    create: (clock) => new SlowCallsState(resolved, clock),
  };
}
