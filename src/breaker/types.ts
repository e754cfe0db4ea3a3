// The breaker's public types: states, events, options and the Breaker interface.
import type { Backoff, Clock, EventSource } from '../core/index.js';
import type { RejectionReason } from './errors.js';
import type { BreakerPolicy } from './policy.js';
import type { BreakerSnapshot } from './snapshot.js';

/** State of a breaker. See {@link Breaker.state}. */
export type BreakerState = 'closed' | 'open' | 'half-open' | 'isolated';

/** Payload of the `stateChange` event. */
export interface StateChangeEvent {
  /** State before the transition. */
  readonly from: BreakerState;
  /** State after the transition. */
  readonly to: BreakerState;
  /** Why, e.g. `5 consecutive failures (threshold 5)`, `probe failed`, `recovered`. */
  readonly reason: string;
  /** When entering `open`: how long it stays open before admitting a probe. */
  readonly openMs?: number;
}

/** Payload of the `rampStep` event: half-open recovery moved to a new admitted fraction. */
export interface RampStepEvent {
  /** Index of the step in `halfOpen.ramp`. */
  readonly step: number;
  /** Fraction of calls now admitted, in (0, 1). */
  readonly fraction: number;
}

/** Payload of the `success` event. */
export interface SuccessEvent {
  /** How long the call took, ms (by the breaker's clock). */
  readonly durationMs: number;
  /** State the call was admitted in. */
  readonly state: 'closed' | 'half-open';
  /** Set when the call threw an error that `isFailure` judged not to be a failure. */
  readonly error?: unknown;
}

/** Payload of the `failure` event. */
export interface FailureEvent {
  /** The error the call threw. */
  readonly error: unknown;
  /** How long the call took, ms. */
  readonly durationMs: number;
  /** State the call was admitted in. */
  readonly state: 'closed' | 'half-open';
}

/** Payload of the `ignored` event: the caller cancelled, which never counts. */
export interface IgnoredEvent {
  /** The cancellation error. */
  readonly error: unknown;
  /** How long the call ran before it was cancelled, ms. */
  readonly durationMs: number;
  /** State the call was admitted in. */
  readonly state: 'closed' | 'half-open';
}

/** Payload of the `rejected` event: a call refused without touching the dependency. */
export interface RejectedEvent {
  /** Why it was refused. */
  readonly reason: RejectionReason;
  /** State of the breaker when it refused. */
  readonly state: BreakerState;
  /** How long until a call can be admitted again, when known. */
  readonly retryAfterMs: number | undefined;
}

/**
 * Events of a breaker. Call events (`success`, `failure`, `ignored`) are emitted for
 * calls that started while someone listened to one of them.
 */
export type BreakerEvents = {
  /** Every transition between states. */
  stateChange: StateChangeEvent;
  /** Half-open recovery advanced to a larger admitted fraction. */
  rampStep: RampStepEvent;
  /** A call succeeded (or failed with an error `isFailure` does not count). */
  success: SuccessEvent;
  /** A call failed and counted against the dependency. */
  failure: FailureEvent;
  /** A call was cancelled by its caller; it does not count. */
  ignored: IgnoredEvent;
  /** A call was refused. */
  rejected: RejectedEvent;
  /**
   * One admitted call in `callSampleEvery`, timed: what a latency histogram needs
   * without timing every call (two clock reads per call cost more than the breaker).
   */
  callSample: CallSampleEvent;
};

/** Payload of the `callSample` event. */
export interface CallSampleEvent {
  /** How the sampled call settled. */
  readonly outcome: 'success' | 'failure' | 'ignored';
  /** How long it took, ms (by the breaker's clock). */
  readonly durationMs: number;
  /** State the call was admitted in. */
  readonly state: 'closed' | 'half-open';
}

/**
 * Calls a breaker has settled or refused since it was created: plain numbers bumped on
 * every call, for metrics read at scrape time (what `girder/observability` does) rather
 * than an event per call.
 *
 * @example
 * ```ts
 * const { success, failure, rejected, ignored } = breaker.callCounts;
 * ```
 */
export interface BreakerCallCounts {
  /** Calls that succeeded, or failed with an error `isFailure` does not count. */
  readonly success: number;
  /** Calls that failed and counted. */
  readonly failure: number;
  /** Calls refused without running. */
  readonly rejected: number;
  /** Calls cancelled by their caller. */
  readonly ignored: number;
}

/** Options of the half-open recovery ramp. */
export interface HalfOpenOptions {
  /** Successful probe calls needed before the ramp starts. Default 3. */
  probes?: number;
  /** Probe calls allowed in flight at once (others are rejected). Default 1. */
  maxConcurrentProbes?: number;
  /**
   * When probe slots are full and no probe has settled for this long, the probes are
   * deemed hung: the breaker reopens. Default 30 000 ms.
   */
  probeTimeoutMs?: number;
  /**
   * Fractions of calls admitted after the probes, one per step, growing, each in
   * (0, 1); after the last step the breaker closes. `[]` closes right after the
   * probes. Default `[0.1, 0.25, 0.5]`.
   */
  ramp?: number[];
  /** Minimum time spent on each ramp step, ms. Default 1 000. */
  stepMs?: number;
  /** Successes needed on a step (besides `stepMs`) before moving to the next. Default 1. */
  stepSuccesses?: number;
}

/** Options of {@link circuitBreaker}. */
export interface CircuitBreakerOptions {
  /** Name used in errors and events. Default `breaker`. */
  name?: string;
  /**
   * When to trip: a {@link BreakerPolicy}, or an array of them (trips on any, like
   * `anyOf`). Default `consecutiveFailures({ threshold: 5 })`.
   */
  policy?: BreakerPolicy | readonly BreakerPolicy[];
  /** How long the breaker stays open before admitting a probe, ms. Default 10 000. */
  openMs?: number;
  /**
   * Instead of `openMs`: open duration growing with the number of consecutive trips
   * (attempt 1 for the first trip; e.g. core `exponential()`). Reset after a full recovery.
   */
  openBackoff?: Backoff;
  /** The half-open recovery ramp. */
  halfOpen?: HalfOpenOptions;
  /**
   * Does this error count against the dependency? Default: every error. Errors that do
   * not count are treated as successes (the dependency answered). A caller's own
   * cancellation never counts, whatever this returns.
   */
  isFailure?: (error: unknown) => boolean;
  /** Time source. Default `systemClock`. */
  clock?: Clock;
  /** Where the breaker goes when the last isolation is released. Default `half-open`. */
  afterIsolation?: 'half-open' | 'closed';
  /** Start from a snapshot taken with `toJSON()` (e.g. persisted across a restart). */
  restore?: BreakerSnapshot;
  /** Receives errors thrown by event listeners. Default: a process warning. */
  onListenerError?: (error: unknown, event: string) => void;
  /**
   * Time one admitted call in this many and report it as a `callSample` event (only
   * while someone listens to `callSample`). 1 times every call. Default 10.
   */
  callSampleEvery?: number;
}

/** Returned by {@link Breaker.isolate}: release it to end this isolation. */
export interface IsolationHandle {
  /** End this isolation (idempotent). The breaker leaves `isolated` when all are released. */
  release(): void;
  /** True once released. */
  readonly released: boolean;
}

/**
 * A circuit breaker. Create one with {@link circuitBreaker}.
 */
export interface Breaker {
  /** The name given in the options. */
  readonly name: string;
  /**
   * `closed` (calls flow), `open` (calls refused until the open period ends),
   * `half-open` (recovering: probes, then a growing fraction of calls) or `isolated`
   * (held open by {@link Breaker.isolate}). An open breaker whose period has elapsed
   * reports — and becomes — `half-open` when read or called.
   */
  readonly state: BreakerState;
  /**
   * Typed events: `stateChange`, `rampStep`, `success`, `failure`, `ignored`,
   * `rejected`, `callSample`.
   */
  readonly events: EventSource<BreakerEvents>;
  /** Running totals of calls by outcome (see {@link BreakerCallCounts}). */
  readonly callCounts: BreakerCallCounts;
  /**
   * The isolation restored from an isolated snapshot, if any; release it to end it.
   */
  readonly restoredIsolation: IsolationHandle | undefined;
  /**
   * Run `fn` through the breaker. Refused calls reject with {@link BrokenCircuitError}
   * without calling `fn`. `fn` receives `signal`; an error thrown while it has fired
   * (or an `AbortedError`) is the caller's cancellation and never counts. A signal that
   * has already fired rejects with `AbortedError` at once.
   */
  execute<T>(
    fn: (signal: AbortSignal | undefined) => T | PromiseLike<T>,
    signal?: AbortSignal,
  ): Promise<Awaited<T>>;
  /**
   * Hold the breaker open manually (maintenance, a known-bad dependency). Calls are
   * refused with reason `isolated` until every handle is released; then the breaker
   * goes to `afterIsolation` (default `half-open`).
   */
  isolate(): IsolationHandle;
  /** A serialisable snapshot; pass it as `restore` to a new breaker to resume. */
  toJSON(): BreakerSnapshot;
}
