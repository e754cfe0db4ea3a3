import type { TargetFailure } from './errors.js';

/** Why a failover decorator moved traffic from one target to another. */
export type SwitchReason =
  /** A call failed on `from` and is being retried on `to` (failover, healthFailover). */
  | 'error'
  /** `from` timed out `threshold` times in a row (timeoutFailover). */
  | 'timeouts'
  /** Someone called `switchTo()` (timeoutFailover). */
  | 'manual';

/** Why healthFailover judged a target down. */
export type DownReason =
  /** Its error-rate average crossed `maxErrorRate`. */
  | 'error-rate'
  /** Its latency average grew past the limit derived from its own baseline (or `maxLatencyMs`). */
  | 'latency'
  /** Someone called `markDown()`. */
  | 'manual';

/**
 * Events emitted by the decorators of `girder/failover`, on the `events` property of
 * the object each returns (see {@link Decorated}). Which decorator emits what:
 *
 * | event | failover | timeoutFailover | healthFailover | trafficSplit |
 * | --- | --- | --- | --- | --- |
 * | `attempt` | yes | yes | yes | |
 * | `switch` | yes | yes | yes | |
 * | `giveUp` | yes | | yes | |
 * | `down`, `probe`, `restore` | | | yes | |
 * | `route`, `percent` | | | | yes |
 */
export type FailoverEvents = {
  /**
   * One call reached target `index` and settled (the caller's own cancellations are not
   * attempts). Emitted only while someone listens.
   */
  attempt: {
    /** The method called. */
    method: string;
    /** 1 for the call's first target, 2 for the second, ... */
    attempt: number;
    /** Index of the target called. */
    index: number;
    /** How long the target took, ms (measured with `performance.now()`). */
    durationMs: number;
    /** Whether the target answered without an error. */
    ok: boolean;
    /** The target's error, when `ok` is false. */
    error?: unknown;
  };
  /** Traffic moved from target `from` to target `to`. */
  switch: {
    /** Index of the target traffic left. */
    from: number;
    /** Index of the target traffic moved to. */
    to: number;
    /** Why it moved. */
    reason: SwitchReason;
    /** The method whose call caused it; absent for manual switches. */
    method?: string;
    /** The error that caused it (`error`/`timeouts` reasons). */
    error?: unknown;
  };
  /** A call failed on every target it tried; the caller gets {@link AllTargetsFailedError}. */
  giveUp: {
    /** The method that failed everywhere. */
    method: string;
    /** Each tried target's failure, in the order tried. */
    errors: readonly TargetFailure[];
  };
  /** healthFailover took a target out of rotation. */
  down: {
    /** Index of the target taken out. */
    index: number;
    /** Why it was judged down. */
    reason: DownReason;
    /** Error-rate average at the moment it was judged (0..1). */
    errorRate: number;
    /** Latency average of successful calls, ms (undefined before any success). */
    latencyMs: number | undefined;
    /** The target's own latency baseline, ms (undefined until it has enough samples). */
    baselineMs: number | undefined;
  };
  /**
   * A call reached a down target (`source: 'call'`), or the `probe` function ran
   * (`source: 'probe'`). `ok` means it succeeded within the latency limit.
   */
  probe: {
    /** Index of the probed target. */
    index: number;
    /** Whether the probe succeeded within the latency limit. */
    ok: boolean;
    /** A real call (`'call'`) or the `probe` function (`'probe'`). */
    source: 'call' | 'probe';
    /** How long the probe took, ms. */
    latencyMs: number;
    /** The probe's error, when it failed with one. */
    error?: unknown;
  };
  /** healthFailover put a target back into rotation after `restoreAfter` good probes (or `markUp()`). */
  restore: {
    /** Index of the restored target. */
    index: number;
    /** `true` when `markUp()` restored it rather than probes. */
    manual: boolean;
  };
  /** trafficSplit routed one call. Emitted only while someone listens. */
  route: {
    /** The implementation that got the call. */
    to: 'primary' | 'secondary';
    /** The method called. */
    method: string;
    /** `true` when a sticky key, not a coin toss, chose the side. */
    sticky: boolean;
  };
  /** trafficSplit's percentage changed through `setPercent()`. */
  percent: {
    /** The previous percentage. */
    from: number;
    /** The new percentage. */
    to: number;
  };
};
