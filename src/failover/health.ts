import { z } from 'zod';
import {
  AbortedError,
  type AsyncMethodKeys,
  type Clock,
  type Decay,
  decaySchema,
  decorate,
  defaultSignalOf,
  InvalidArgumentError,
  parseOptions,
  type SignalOf,
  TypedEmitter,
  withTimeout,
} from '../core/index.js';
import type { FailoverEvents } from './events.js';
import {
  attach,
  callerSignal,
  clockSchema,
  type DecoratedTarget,
  durationMs,
  fn,
  methodsSchema,
  nameSchema,
  positiveMs,
  resolveTargets,
} from './shared.js';
import { type TargetHealth, TargetHealthState } from './target-health.js';
import {
  type AttemptObserver,
  type FailedAttempt,
  type OrderedTargets,
  tryInOrder,
} from './try-in-order.js';

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
  /** Time source for latencies, decay and probe timers. Default `systemClock`. */
  clock?: Clock;
  /** Name of this decorator, for logs and metrics (`control.name`). */
  name?: string;
}

const schema = z.strictObject({
  decay: decaySchema.default({ halfLifeCalls: 10 }),
  baselineDecay: decaySchema.default({ halfLifeCalls: 200 }),
  minSamples: z.number().int().min(1).default(10),
  maxErrorRate: z.number().gt(0).max(1).default(0.5),
  maxLatencyRatio: z.number().finite().gt(1).default(3),
  minLatencyIncreaseMs: durationMs().default(50),
  maxLatencyMs: positiveMs().optional(),
  outlierFactor: z.number().finite().min(1).default(2),
  probeIntervalMs: durationMs().default(5_000),
  restoreAfter: z.number().int().min(1).default(3),
  probe: fn<(target: unknown, signal: AbortSignal) => Promise<unknown>>().optional(),
  probeTimeoutMs: positiveMs().default(5_000),
  isFailure: fn<(error: unknown, attempt: FailedAttempt) => boolean>().optional(),
  shouldFailover: fn<(error: unknown, attempt: FailedAttempt) => boolean>().optional(),
  prefer: z.enum(['healthiest', 'ordered']).default('healthiest'),
  maxAttempts: z.number().int().min(1).optional(),
  methods: methodsSchema,
  signalOf: fn<SignalOf>().default(() => defaultSignalOf),
  clock: clockSchema,
  name: nameSchema,
});

/** Live view and manual overrides of a {@link healthFailover} decorator: its `control` property. */
export interface HealthFailoverControl extends AsyncDisposable {
  /** The `name` option. */
  readonly name: string | undefined;
  /** A snapshot of every target's health. */
  health(): TargetHealth[];
  /** Take a target out of rotation now (it is then probed and restored like any down target). */
  markDown(index: number): void;
  /**
   * Put a target back now, forgetting its recent errors, latency and its baseline (it
   * learns "normal" again: use this after a known, permanent change of its speed).
   */
  markUp(index: number): void;
  /**
   * Stop the probe timers. Calls keep working; down targets are then only probed by
   * real calls. Idempotent; `Symbol.asyncDispose` does the same.
   */
  close(): Promise<void>;
}

/**
 * What {@link healthFailover} returns: the targets' own type, plus its `events` and
 * `control`, and `Symbol.asyncDispose` (which closes it).
 */
export type HealthFailover<T> = DecoratedTarget<T, FailoverEvents, HealthFailoverControl> &
  AsyncDisposable;

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
 * The returned object carries `events` (`switch`, `giveUp`, `down`, `probe`, `restore`)
 * and `control` (`health()`, `markDown`, `markUp`, `close`), see {@link Decorated}. It
 * owns the probe timers, so it is `AsyncDisposable` and `control.close()` stops them.
 *
 * @throws InvalidArgumentError when `targets` is empty or a target lacks a decorated method.
 * @throws InvalidOptionsError naming each bad option.
 *
 * @example
 * ```ts
 * import { healthFailover } from 'girder/failover';
 *
 * const sms = healthFailover([aliyun, tencent], {
 *   maxErrorRate: 0.3,
 *   maxLatencyRatio: 4,
 *   probeIntervalMs: 10_000,
 *   probe: (provider, signal) => provider.balance({ signal }),
 * });
 * sms.events.on('down', ({ index, reason }) => logger.warn('sms provider down', { index, reason }));
 * sms.events.on('restore', ({ index }) => logger.info('sms provider back', { index }));
 * await sms.send('+8613800000000', 'your code is 1234');
 * sms.control.health(); // [{ index: 0, up: true, errorRate: 0, latencyMs: 80, ... }, ...]
 * ```
 */
export function healthFailover<T extends object>(
  targets: readonly T[],
  options: HealthFailoverOptions<T> = {},
): HealthFailover<T> {
  const opts = parseOptions('healthFailover', schema, options);
  const resolved = resolveTargets(targets, opts.methods);
  const list = resolved.targets as T[];
  const n = list.length;
  const maxAttempts = Math.min(opts.maxAttempts ?? n, n);
  const { clock, signalOf, isFailure } = opts;
  const probe = opts.probe as ((target: T, signal: AbortSignal) => Promise<unknown>) | undefined;
  const events = new TypedEmitter<FailoverEvents>();
  const loop: OrderedTargets = { targets: list, events, shouldFailover: opts.shouldFailover };
  const rules = { ...opts, events };
  let closed = false;

  const scheduleProbe = (s: TargetHealthState) => {
    if (!probe || closed || s.up || s.timer !== undefined) return;
    s.timer = clock.setTimeout(() => {
      s.timer = undefined;
      void runProbe(s);
    }, opts.probeIntervalMs);
  };

  const states = list.map((_, index) => new TargetHealthState(index, rules, scheduleProbe));

  const runProbe = async (s: TargetHealthState) => {
    if (s.up || closed || !probe) return;
    const { epoch } = s;
    const started = clock.now();
    try {
      await withTimeout((signal) => probe(list[s.index]!, signal), {
        timeoutMs: opts.probeTimeoutMs,
        clock,
      });
      s.record(epoch, clock.now() - started, undefined, 'probe');
    } catch (error) {
      s.record(epoch, clock.now() - started, { error }, 'probe');
    }
    scheduleProbe(s);
  };

  const byScore = (a: TargetHealthState, b: TargetHealthState) =>
    a.score() - b.score() || a.index - b.index;

  /** The targets one call tries, in order, and the down target it probes (if any). */
  const plan = (): { order: TargetHealthState[]; probing: TargetHealthState | undefined } => {
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
      const signal = callerSignal(signalOf, args, method);
      if (signal?.aborted) throw new AbortedError(signal.reason);
      const { order, probing } = plan();
      // Each attempt's outcome feeds its target's health, judged in the epoch it began.
      let epoch = 0;
      let started = 0;
      const observer: AttemptObserver = {
        start(_attempt, index) {
          epoch = states[index]!.epoch;
          started = clock.now();
        },
        end(attempt, failure) {
          const counts = failure !== undefined && (!isFailure || isFailure(failure.error, attempt));
          const s = states[attempt.index]!;
          s.record(epoch, clock.now() - started, counts ? failure : undefined, 'call');
        },
      };
      try {
        const count = Math.min(order.length, maxAttempts);
        return await tryInOrder(
          loop,
          method,
          args,
          signal,
          count,
          0,
          (i) => order[i]!.index,
          observer,
        );
      } finally {
        if (probing) probing.probing = false;
      }
    },
    { methods: resolved.methods as AsyncMethodKeys<T>[] },
  );

  const at = (index: unknown): TargetHealthState => {
    if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= n) {
      throw new InvalidArgumentError('index', `must be an integer in [0, ${n - 1}]`);
    }
    return states[index]!;
  };

  const close = async () => {
    closed = true;
    for (const s of states) s.clearTimer();
  };
  const control: HealthFailoverControl = {
    name: opts.name,
    health: () => states.map((s) => s.snapshot()),
    markDown(index) {
      const s = at(index);
      if (s.up) s.markDown('manual');
    },
    markUp(index) {
      const s = at(index);
      if (!s.up) s.restore(true);
    },
    close,
    [Symbol.asyncDispose]: close,
  };
  const result = attach<T, FailoverEvents, HealthFailoverControl>(decorated, events, control);
  Object.defineProperty(result, Symbol.asyncDispose, { value: close, enumerable: false });
  return result as HealthFailover<T>;
}
