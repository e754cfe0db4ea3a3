import type { Clock, TimerHandle, TypedEmitter } from '../core/index.js';
import { type Decay, DecayingMean } from '../core/index.js';
import type { DownReason, FailoverEvents } from './events.js';

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

/** @internal The detector settings one {@link TargetHealthState} judges by (healthFailover's options). */
export interface HealthRules {
  readonly decay: Decay;
  readonly baselineDecay: Decay;
  readonly minSamples: number;
  readonly maxErrorRate: number;
  readonly maxLatencyRatio: number;
  readonly minLatencyIncreaseMs: number;
  readonly maxLatencyMs?: number | undefined;
  readonly outlierFactor: number;
  readonly probeIntervalMs: number;
  readonly restoreAfter: number;
  readonly clock: Clock;
  readonly events: TypedEmitter<FailoverEvents>;
}

/**
 * @internal
 * The health of one target: its fast error-rate and latency averages, its slow latency
 * baseline, and the up -> down -> probing -> up cycle. It owns no timer and no target:
 * {@link healthFailover} feeds it outcomes with {@link TargetHealthState.record} and
 * asks it what to do, so the detector is testable on its own with a manual clock.
 */
export class TargetHealthState {
  up = true;
  /** Bumped on every down/restore, so results of calls that began before it are dropped. */
  epoch = 0;
  downReason: DownReason | undefined;
  downSince: number | undefined;
  /** When a real call may next be let through as the probe (no `probe` function). */
  nextProbeAt = 0;
  /** A real call is probing it now. */
  probing = false;
  probeSuccesses = 0;
  /** healthFailover's pending probe timer, cleared on restore. */
  timer: TimerHandle | undefined;
  #probeLatencySum = 0;
  readonly #errors: DecayingMean;
  readonly #latency: DecayingMean;
  readonly #baseline: DecayingMean;

  constructor(
    readonly index: number,
    private readonly rules: HealthRules,
    /** Called after the target went down (healthFailover schedules its probe). */
    private readonly onDown: (state: TargetHealthState) => void = () => {},
  ) {
    this.#errors = DecayingMean.of(rules.decay);
    this.#latency = DecayingMean.of(rules.decay);
    this.#baseline = DecayingMean.of(rules.baselineDecay);
  }

  /** The baseline, once it has `minSamples` samples. */
  get baselineMs(): number | undefined {
    return this.#baseline.count >= this.rules.minSamples ? this.#baseline.value : undefined;
  }

  /** Latency above which a call or probe counts as slow. */
  latencyLimit(): number {
    const { maxLatencyRatio, minLatencyIncreaseMs, maxLatencyMs } = this.rules;
    const base = this.baselineMs;
    const relative =
      base === undefined
        ? Number.POSITIVE_INFINITY
        : Math.max(base * maxLatencyRatio, base + minLatencyIncreaseMs);
    return Math.min(relative, maxLatencyMs ?? Number.POSITIVE_INFINITY);
  }

  /** Expected cost of a call, `latency / (1 - errorRate)`: lower is healthier. */
  score(): number {
    return (this.#latency.value ?? 0) / (1 - Math.min(this.#errors.value ?? 0, 0.99));
  }

  /** Take it out of rotation. */
  markDown(reason: DownReason): void {
    const { clock, events, probeIntervalMs } = this.rules;
    this.up = false;
    this.epoch++;
    this.downReason = reason;
    this.downSince = clock.now();
    this.nextProbeAt = this.downSince + probeIntervalMs;
    this.probeSuccesses = 0;
    this.#probeLatencySum = 0;
    events.emit('down', {
      index: this.index,
      reason,
      errorRate: this.#errors.value ?? 0,
      latencyMs: this.#latency.value,
      baselineMs: this.baselineMs,
    });
    this.onDown(this);
  }

  /**
   * Put it back: recent errors and latency are forgotten (seeded with the probes'
   * mean latency, when given); a manual restore forgets the baseline too.
   */
  restore(manual: boolean, seedLatencyMs?: number): void {
    this.clearTimer();
    this.up = true;
    this.epoch++;
    this.downReason = undefined;
    this.downSince = undefined;
    this.probeSuccesses = 0;
    this.#probeLatencySum = 0;
    this.#errors.reset();
    this.#latency.reset();
    if (manual) this.#baseline.reset();
    if (seedLatencyMs !== undefined) this.#latency.add(seedLatencyMs, this.rules.clock.now());
    this.rules.events.emit('restore', { index: this.index, manual });
  }

  /**
   * Record the outcome of one call or probe that started in `epoch`; `failed`
   * undefined means success. A result from before the target's last down/restore is
   * dropped: calls in flight when it went down must not count as probes (and restore
   * it at once), nor probes in flight when it was restored as fresh samples.
   */
  record(
    epoch: number,
    latencyMs: number,
    failed: { error: unknown } | undefined,
    source: 'call' | 'probe',
  ): void {
    if (this.epoch !== epoch) return;
    const { clock, minSamples, maxErrorRate, outlierFactor } = this.rules;
    const now = clock.now();
    if (!this.up) {
      this.#recordProbe(latencyMs, failed, source, now);
      return;
    }
    this.#errors.add(failed ? 1 : 0, now);
    if (!failed) {
      // The fast average takes every success (outliers capped); the baseline only those
      // within the limit, so a sudden slowdown cannot drag "normal" up after it while a
      // gradual, legitimate drift still moves it.
      const limit = this.latencyLimit();
      const finite = limit < Number.POSITIVE_INFINITY;
      this.#latency.add(finite ? Math.min(latencyMs, limit * outlierFactor) : latencyMs, now);
      if (latencyMs <= limit) this.#baseline.add(latencyMs, now);
    }
    if (this.#errors.count < minSamples) return;
    if ((this.#errors.value ?? 0) > maxErrorRate) this.markDown('error-rate');
    else if (
      this.#latency.count >= minSamples &&
      (this.#latency.value ?? 0) > this.latencyLimit()
    ) {
      this.markDown('latency');
    }
  }

  #recordProbe(
    latencyMs: number,
    failed: { error: unknown } | undefined,
    source: 'call' | 'probe',
    now: number,
  ): void {
    const ok = failed === undefined && latencyMs <= this.latencyLimit();
    this.rules.events.emit('probe', {
      index: this.index,
      ok,
      source,
      latencyMs,
      ...(failed ? { error: failed.error } : {}),
    });
    if (ok) {
      this.probeSuccesses++;
      this.#probeLatencySum += latencyMs;
      if (this.probeSuccesses >= this.rules.restoreAfter) {
        this.restore(false, this.#probeLatencySum / this.probeSuccesses);
        return;
      }
    } else {
      this.probeSuccesses = 0;
      this.#probeLatencySum = 0;
    }
    this.nextProbeAt = now + this.rules.probeIntervalMs;
  }

  /** Cancel the pending probe timer, if any. */
  clearTimer(): void {
    if (this.timer !== undefined) this.rules.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** A snapshot for `control.health()`. */
  snapshot(): TargetHealth {
    return {
      index: this.index,
      up: this.up,
      errorRate: this.#errors.value ?? 0,
      latencyMs: this.#latency.value,
      baselineMs: this.#baseline.value,
      latencyLimitMs: this.latencyLimit(),
      samples: this.#errors.count,
      downReason: this.downReason,
      downSince: this.downSince,
      probeSuccesses: this.probeSuccesses,
    };
  }
}
