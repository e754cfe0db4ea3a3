import { z } from 'zod';
import {
  AbortedError,
  type AsyncMethodKeys,
  type Clock,
  decorate,
  defaultSignalOf,
  InvalidArgumentError,
  parseOptions,
  type SignalOf,
  type TimerHandle,
  TypedEmitter,
  withTimeout,
} from '../core/index.js';
import { AllTargetsFailedError, type TargetFailure } from './errors.js';
import { type DownReason, type FailoverEvents, lookup, register } from './events.js';
import type { FailedAttempt } from './failover.js';
import {
  callerCancellation,
  clockSchema,
  eventsSchema,
  fn,
  invoke,
  methodsSchema,
  resolveTargets,
} from './shared.js';

/**
 * How fast an average forgets old samples. Give exactly one of:
 * - `halfLifeCalls`: a sample's weight halves after this many newer samples;
 * - `halfLifeMs`: a sample's weight halves after this much time (for bursty or sparse
 *   traffic, where "the last 10 calls" may span an hour);
 * - `alpha`: the classic EWMA smoothing factor in (0, 1), weight of the newest sample.
 */
export type Decay = DecayByCalls | DecayByTime | DecayByAlpha;

/** A {@link Decay} in calls: a sample's weight halves after this many later samples. */
export interface DecayByCalls {
  /** Samples after which an old sample's weight has halved. */
  halfLifeCalls: number;
  /** Not with `halfLifeCalls`. */
  halfLifeMs?: never;
  /** Not with `halfLifeCalls`. */
  alpha?: never;
}

/** A {@link Decay} in time: a sample's weight halves after this long. */
export interface DecayByTime {
  /** Milliseconds after which an old sample's weight has halved. */
  halfLifeMs: number;
  /** Not with `halfLifeMs`. */
  halfLifeCalls?: never;
  /** Not with `halfLifeMs`. */
  alpha?: never;
}

/** A {@link Decay} as a raw EWMA factor. */
export interface DecayByAlpha {
  /** Weight of each new sample, in (0, 1]. */
  alpha: number;
  /** Not with `alpha`. */
  halfLifeCalls?: never;
  /** Not with `alpha`. */
  halfLifeMs?: never;
}

/** Options of {@link healthFailover}. */
export interface HealthFailoverOptions<T> {
  /** Decay of the fast averages (error rate and latency) that detect trouble. Default `{ halfLifeCalls: 10 }`. */
  decay?: Decay;
  /**
   * Decay of each target's latency baseline: what "normal" is for that target. Must
   * forget much more slowly than `decay`, so a sudden slowdown stands out against it
   * while a gradual, legitimate change is absorbed. Default `{ halfLifeCalls: 200 }`.
   */
  baselineDecay?: Decay;
  /** Samples a target needs (since it was last restored) before it can be judged down, and before its baseline is trusted. Default 10. */
  minSamples?: number;
  /** Error-rate average (0..1) above which a target is down. Default 0.5. */
  maxErrorRate?: number;
  /** A target is slow when its latency average exceeds `maxLatencyRatio` x its baseline... Default 3. */
  maxLatencyRatio?: number;
  /** ...and also exceeds the baseline by at least this much, so 1 ms -> 4 ms is not an outage. Default 50 ms. */
  minLatencyIncreaseMs?: number;
  /** Absolute latency limit, judged even before a baseline exists. Default: none. */
  maxLatencyMs?: number;
  /**
   * Outlier damping: one successful call's latency counts toward the averages as at most
   * `outlierFactor` x the target's latency limit, so a few stragglers (a GC pause, a
   * cold connection) cannot take a target down while a sustained slowdown still does.
   * Default 2.
   */
  outlierFactor?: number;
  /** Time between probes of a down target. Default 5 000 ms. */
  probeIntervalMs?: number;
  /** Consecutive good probes that bring a target back. Default 3. */
  restoreAfter?: number;
  /**
   * Probe function run on a timer for each down target (e.g. a cheap status call).
   * Without it, one real call per `probeIntervalMs` is let through to the down target as
   * the probe (and fails over to the others if it fails, costing that caller the time).
   */
  probe?: (target: T, signal: AbortSignal) => Promise<unknown>;
  /** Deadline of one `probe` run; exceeding it is a failed probe. Default 5 000 ms. */
  probeTimeoutMs?: number;
  /** Which errors count against a target's health. Default: all (the caller's own cancellation never does). */
  isFailure?: (error: unknown, attempt: FailedAttempt) => boolean;
  /** Whether an error sends the call on to the next target. Default: all errors. */
  shouldFailover?: (error: unknown, attempt: FailedAttempt) => boolean;
  /**
   * Which healthy target gets a call first: `'healthiest'` (default) the lowest expected
   * cost, `latency / (1 - errorRate)`; `'ordered'` the first healthy one in list order
   * (a primary with backups, e.g. when providers differ in price).
   */
  prefer?: 'healthiest' | 'ordered';
  /** Most targets one call may try. Default: all of them. */
  maxAttempts?: number;
  /** Methods to decorate. Default: every method of the first target. */
  methods?: readonly AsyncMethodKeys<T>[];
  /** Finds the caller's `AbortSignal` in a call's arguments. Default {@link defaultSignalOf}. */
  signalOf?: SignalOf;
  /** Emitter to publish events on. Default: a new one, reachable with {@link failoverEvents}. */
  events?: TypedEmitter<FailoverEvents>;
  /** Time source for latencies, decay and probe timers. Default `systemClock`. */
  clock?: Clock;
}

const decaySchema = z.union([
  z.strictObject({ halfLifeCalls: z.number().finite().positive() }),
  z.strictObject({ halfLifeMs: z.number().finite().positive() }),
  z.strictObject({ alpha: z.number().gt(0).lt(1) }),
]);

const schema = z.strictObject({
  decay: decaySchema.default({ halfLifeCalls: 10 }),
  baselineDecay: decaySchema.default({ halfLifeCalls: 200 }),
  minSamples: z.number().int().min(1).default(10),
  maxErrorRate: z.number().gt(0).max(1).default(0.5),
  maxLatencyRatio: z.number().finite().gt(1).default(3),
  minLatencyIncreaseMs: z.number().finite().nonnegative().default(50),
  maxLatencyMs: z.number().finite().positive().optional(),
  outlierFactor: z.number().finite().min(1).default(2),
  probeIntervalMs: z.number().finite().nonnegative().default(5_000),
  restoreAfter: z.number().int().min(1).default(3),
  probe: fn<(target: unknown, signal: AbortSignal) => Promise<unknown>>().optional(),
  probeTimeoutMs: z.number().finite().positive().default(5_000),
  isFailure: fn<(error: unknown, attempt: FailedAttempt) => boolean>().optional(),
  shouldFailover: fn<(error: unknown, attempt: FailedAttempt) => boolean>().optional(),
  prefer: z.enum(['healthiest', 'ordered']).default('healthiest'),
  maxAttempts: z.number().int().min(1).optional(),
  methods: methodsSchema,
  signalOf: fn<SignalOf>().default(() => defaultSignalOf),
  events: eventsSchema,
  clock: clockSchema,
});

/**
 * A decaying average: each sample's weight shrinks by `factor` per newer sample (or per
 * ms), and the value is the weighted mean. Unlike the textbook `v += a * (x - v)` it has
 * no start-up bias (the first sample is the value) and, with time decay, samples taken
 * in the same millisecond average instead of the last one winning.
 */
class DecayingMean {
  #sum = 0;
  #weight = 0;
  #last = 0;
  count = 0;

  constructor(
    private readonly perCall: number | undefined,
    private readonly halfLifeMs: number | undefined,
  ) {}

  static of(decay: Decay): DecayingMean {
    if (decay.alpha !== undefined) return new DecayingMean(1 - decay.alpha, undefined);
    if (decay.halfLifeCalls !== undefined) {
      return new DecayingMean(2 ** (-1 / decay.halfLifeCalls), undefined);
    }
    return new DecayingMean(undefined, decay.halfLifeMs);
  }

  add(x: number, now: number): void {
    const keep =
      this.perCall ??
      (this.count === 0 ? 0 : 2 ** (-Math.max(0, now - this.#last) / this.halfLifeMs!));
    this.#sum = this.#sum * keep + x;
    this.#weight = this.#weight * keep + 1;
    this.#last = now;
    this.count++;
  }

  get value(): number | undefined {
    return this.count === 0 ? undefined : this.#sum / this.#weight;
  }

  reset(): void {
    this.#sum = 0;
    this.#weight = 0;
    this.count = 0;
  }
}

/** One target's health as {@link healthFailover} sees it. */
export interface TargetHealth {
  /** Position in the target list. */
  readonly index: number;
  /** In rotation. */
  readonly up: boolean;
  /** Fast average of failures (0..1) since the target was last restored. */
  readonly errorRate: number;
  /** Fast average latency of successful calls, ms. */
  readonly latencyMs: number | undefined;
  /** The target's latency baseline, ms (what is normal for it). */
  readonly baselineMs: number | undefined;
  /** The latency above which it counts as slow, ms (`Infinity` until a baseline or `maxLatencyMs` exists). */
  readonly latencyLimitMs: number;
  /** Samples since it was last restored. */
  readonly samples: number;
  /** Why it is down (when it is). */
  readonly downReason: DownReason | undefined;
  /** When it went down (clock ms), if it is down. */
  readonly downSince: number | undefined;
  /** Consecutive good probes so far, if it is down. */
  readonly probeSuccesses: number;
}

/** Live view and manual overrides of a {@link healthFailover} decorator; get it with {@link healthFailoverControl}. */
export interface HealthFailoverControl {
  /** A snapshot of every target's health. */
  health(): TargetHealth[];
  /** Take a target out of rotation now (it is then probed and restored like any down target). */
  markDown(index: number): void;
  /**
   * Put a target back now, forgetting its recent errors, latency and its baseline (it
   * learns "normal" again: use this after a known, permanent change of its speed).
   */
  markUp(index: number): void;
  /** Stop the probe timers. Calls keep working; down targets are then only probed by real calls. */
  close(): void;
}

interface TargetState {
  readonly index: number;
  up: boolean;
  /** Bumped on every down/restore, so results of calls that began before it are dropped. */
  epoch: number;
  readonly errors: DecayingMean;
  readonly latency: DecayingMean;
  readonly baseline: DecayingMean;
  downReason: DownReason | undefined;
  downSince: number | undefined;
  nextProbeAt: number;
  probing: boolean;
  probeSuccesses: number;
  probeLatencySum: number;
  timer: TimerHandle | undefined;
}

/**
 * Failover driven by a crash detector of its own. For each target it keeps a decaying
 * average (EWMA) of the error rate and of the latency of successful calls, plus a slow
 * average of latency as that target's own baseline. A target is judged **down** when,
 * after `minSamples` samples, its error rate exceeds `maxErrorRate`, or its latency
 * exceeds `maxLatencyRatio` x its baseline (and the baseline by `minLatencyIncreaseMs`),
 * or `maxLatencyMs`. A down target leaves the rotation and is **probed** every
 * `probeIntervalMs` (by `probe` if given, else by letting one real call through); it is
 * **restored** after `restoreAfter` consecutive probes that succeed within its latency
 * limit.
 *
 * Each call goes to the healthiest target that is up (or the first, with
 * `prefer: 'ordered'`) and, if it fails, on to the next, like {@link failover}. When every
 * target is down, calls still try them all, healthiest first (a detector's verdict must
 * not turn a partial outage into a total one; stack `withBreaker` outside to fail fast).
 * The caller's own abort or deadline stops at once and is never counted. Returns an
 * object of the targets' own type. See `docs/failover.md` for why this detector and its
 * trade-offs.
 *
 * @throws InvalidArgumentError when `targets` is empty or a target lacks a decorated method.
 * @throws InvalidOptionsError naming each bad option.
 *
 * @example
 * ```ts
 * import { failoverEvents, healthFailover, healthFailoverControl } from 'girder/failover';
 *
 * const sms = healthFailover([aliyun, tencent], {
 *   maxErrorRate: 0.3,
 *   maxLatencyRatio: 4,
 *   probeIntervalMs: 10_000,
 *   probe: (provider, signal) => provider.balance({ signal }),
 * });
 * failoverEvents(sms).on('down', ({ index, reason }) => logger.warn('sms provider down', { index, reason }));
 * failoverEvents(sms).on('restore', ({ index }) => logger.info('sms provider back', { index }));
 * await sms.send('+8613800000000', 'your code is 1234');
 * healthFailoverControl(sms).health(); // [{ index: 0, up: true, errorRate: 0, latencyMs: 80, ... }, ...]
 * ```
 */
export function healthFailover<T extends object>(
  targets: readonly T[],
  options: HealthFailoverOptions<T> = {},
): T {
  const opts = parseOptions('healthFailover', schema, options);
  const resolved = resolveTargets(targets, opts.methods);
  const list = resolved.targets as T[];
  const n = list.length;
  const maxAttempts = Math.min(opts.maxAttempts ?? n, n);
  const { clock, signalOf, isFailure, shouldFailover, minSamples, restoreAfter } = opts;
  const probe = opts.probe as ((target: T, signal: AbortSignal) => Promise<unknown>) | undefined;
  const events = opts.events ?? new TypedEmitter<FailoverEvents>();
  let closed = false;

  const states: TargetState[] = list.map((_, index) => ({
    index,
    up: true,
    epoch: 0,
    errors: DecayingMean.of(opts.decay),
    latency: DecayingMean.of(opts.decay),
    baseline: DecayingMean.of(opts.baselineDecay),
    downReason: undefined,
    downSince: undefined,
    nextProbeAt: 0,
    probing: false,
    probeSuccesses: 0,
    probeLatencySum: 0,
    timer: undefined,
  }));

  const latencyLimit = (s: TargetState): number => {
    const base = s.baseline.count >= minSamples ? s.baseline.value : undefined;
    const relative =
      base === undefined
        ? Number.POSITIVE_INFINITY
        : Math.max(base * opts.maxLatencyRatio, base + opts.minLatencyIncreaseMs);
    return Math.min(relative, opts.maxLatencyMs ?? Number.POSITIVE_INFINITY);
  };

  const score = (s: TargetState): number =>
    (s.latency.value ?? 0) / (1 - Math.min(s.errors.value ?? 0, 0.99));

  const scheduleProbe = (s: TargetState) => {
    if (!probe || closed || s.up || s.timer !== undefined) return;
    s.timer = clock.setTimeout(() => {
      s.timer = undefined;
      void runProbe(s);
    }, opts.probeIntervalMs);
  };

  const markDown = (s: TargetState, reason: DownReason) => {
    s.up = false;
    s.epoch++;
    s.downReason = reason;
    s.downSince = clock.now();
    s.nextProbeAt = s.downSince + opts.probeIntervalMs;
    s.probeSuccesses = 0;
    s.probeLatencySum = 0;
    events.emit('down', {
      index: s.index,
      reason,
      errorRate: s.errors.value ?? 0,
      latencyMs: s.latency.value,
      baselineMs: s.baseline.count >= minSamples ? s.baseline.value : undefined,
    });
    scheduleProbe(s);
  };

  const restore = (s: TargetState, manual: boolean, seedLatencyMs: number | undefined) => {
    if (s.timer !== undefined) clock.clearTimeout(s.timer);
    s.timer = undefined;
    s.up = true;
    s.epoch++;
    s.downReason = undefined;
    s.downSince = undefined;
    s.probeSuccesses = 0;
    s.probeLatencySum = 0;
    s.errors.reset();
    s.latency.reset();
    if (manual) s.baseline.reset();
    if (seedLatencyMs !== undefined) s.latency.add(seedLatencyMs, clock.now());
    events.emit('restore', { index: s.index, manual });
  };

  /**
   * Record the outcome of one call or probe that started in `epoch`; `failed` undefined
   * means success. A result from before the target's last down/restore is dropped: calls
   * in flight when it went down must not count as probes (and restore it at once), nor
   * probes in flight when it was restored as fresh samples.
   */
  const record = (
    s: TargetState,
    epoch: number,
    latencyMs: number,
    failed: { error: unknown } | undefined,
    source: 'call' | 'probe',
  ) => {
    if (s.epoch !== epoch) return;
    const now = clock.now();
    if (!s.up) {
      const ok = failed === undefined && latencyMs <= latencyLimit(s);
      events.emit('probe', {
        index: s.index,
        ok,
        source,
        latencyMs,
        ...(failed ? { error: failed.error } : {}),
      });
      if (ok) {
        s.probeSuccesses++;
        s.probeLatencySum += latencyMs;
        if (s.probeSuccesses >= restoreAfter) {
          restore(s, false, s.probeLatencySum / s.probeSuccesses);
          return;
        }
      } else {
        s.probeSuccesses = 0;
        s.probeLatencySum = 0;
      }
      s.nextProbeAt = now + opts.probeIntervalMs;
      return;
    }
    s.errors.add(failed ? 1 : 0, now);
    if (!failed) {
      // The fast average takes every success (outliers capped); the baseline only those
      // within the limit, so a sudden slowdown cannot drag "normal" up after it while a
      // gradual, legitimate drift still moves it.
      const limit = latencyLimit(s);
      const finite = limit < Number.POSITIVE_INFINITY;
      s.latency.add(finite ? Math.min(latencyMs, limit * opts.outlierFactor) : latencyMs, now);
      if (latencyMs <= limit) s.baseline.add(latencyMs, now);
    }
    if (s.errors.count < minSamples) return;
    if ((s.errors.value ?? 0) > opts.maxErrorRate) markDown(s, 'error-rate');
    else if (s.latency.count >= minSamples && (s.latency.value ?? 0) > latencyLimit(s)) {
      markDown(s, 'latency');
    }
  };

  const runProbe = async (s: TargetState) => {
    if (s.up || closed || !probe) return;
    const { epoch } = s;
    const started = clock.now();
    try {
      await withTimeout((signal) => probe(list[s.index]!, signal), {
        timeoutMs: opts.probeTimeoutMs,
        clock,
      });
      record(s, epoch, clock.now() - started, undefined, 'probe');
    } catch (error) {
      record(s, epoch, clock.now() - started, { error }, 'probe');
    }
    scheduleProbe(s);
  };

  const byScore = (a: TargetState, b: TargetState) => score(a) - score(b) || a.index - b.index;

  /** The targets one call tries, in order, and the down target it probes (if any). */
  const plan = (): { order: TargetState[]; probing: TargetState | undefined } => {
    const up = states.filter((s) => s.up);
    if (up.length === 0) return { order: [...states].sort(byScore), probing: undefined };
    if (opts.prefer === 'healthiest' && up.length > 1) up.sort(byScore);
    if (!probe && up.length < n) {
      // Without a probe function, one real call at a time goes to a down target that is due.
      const now = clock.now();
      const due = states.find((s) => !s.up && !s.probing && s.nextProbeAt <= now);
      if (due) {
        due.probing = true;
        return { order: [due, ...up], probing: due };
      }
    }
    return { order: up, probing: undefined };
  };

  const decorated = decorate(
    list[0]!,
    async ({ method, args }) => {
      const signal = signalOf(args, method);
      if (signal?.aborted) throw new AbortedError(signal.reason);
      const { order, probing } = plan();
      const attempts = Math.min(order.length, maxAttempts);
      const errors: TargetFailure[] = [];
      try {
        for (let i = 0; i < attempts; i++) {
          const s = order[i]!;
          const { index, epoch } = s;
          if (signal?.aborted) throw new AbortedError(signal.reason);
          const started = clock.now();
          try {
            const result = await invoke(list[index]!, method, args);
            record(s, epoch, clock.now() - started, undefined, 'call');
            return result;
          } catch (error) {
            const aborted = callerCancellation(error, signal);
            if (aborted) throw aborted;
            const attempt = { index, method, attempt: i + 1 };
            const counts = isFailure ? isFailure(error, attempt) : true;
            record(s, epoch, clock.now() - started, counts ? { error } : undefined, 'call');
            if (shouldFailover && !shouldFailover(error, attempt)) throw error;
            errors.push({ index, error });
            if (i + 1 < attempts && events.has('switch')) {
              events.emit('switch', {
                from: index,
                to: order[i + 1]!.index,
                reason: 'error',
                method,
                error,
              });
            }
          }
        }
      } finally {
        if (probing) probing.probing = false;
      }
      events.emit('giveUp', { method, errors });
      throw new AllTargetsFailedError(method, errors, n);
    },
    { methods: resolved.methods as AsyncMethodKeys<T>[] },
  );

  const at = (index: number): TargetState => {
    if (!Number.isInteger(index) || index < 0 || index >= n) {
      throw new InvalidArgumentError('index', `must be an integer in [0, ${n - 1}]`);
    }
    return states[index]!;
  };

  const control: HealthFailoverControl = {
    health: () =>
      states.map((s) => ({
        index: s.index,
        up: s.up,
        errorRate: s.errors.value ?? 0,
        latencyMs: s.latency.value,
        baselineMs: s.baseline.value,
        latencyLimitMs: latencyLimit(s),
        samples: s.errors.count,
        downReason: s.downReason,
        downSince: s.downSince,
        probeSuccesses: s.probeSuccesses,
      })),
    markDown(index) {
      const s = at(index);
      if (s.up) markDown(s, 'manual');
    },
    markUp(index) {
      const s = at(index);
      if (!s.up) restore(s, true, undefined);
    },
    close() {
      closed = true;
      for (const s of states) {
        if (s.timer !== undefined) clock.clearTimeout(s.timer);
        s.timer = undefined;
      }
    },
  };
  return register(decorated, { kind: 'healthFailover', events, control });
}

/**
 * The health snapshot and manual overrides of an object built by {@link healthFailover}.
 *
 * @throws InvalidArgumentError when `decorated` was not built by `healthFailover`.
 *
 * @example
 * ```ts
 * import { healthFailover, healthFailoverControl } from 'girder/failover';
 *
 * const sms = healthFailover([aliyun, tencent], { probe: (p, signal) => p.ping({ signal }) });
 * const control = healthFailoverControl(sms);
 * app.get('/ops/sms', () => control.health());
 * control.markDown(0); // take provider 0 out now; probes bring it back once healthy
 * process.on('SIGTERM', () => control.close());
 * ```
 */
export function healthFailoverControl(decorated: object): HealthFailoverControl {
  return lookup(decorated, 'healthFailover').control as HealthFailoverControl;
}
