import { z } from 'zod';
import {
  AbortedError,
  type Backoff,
  type Clock,
  clockSchema,
  type EventSource,
  functionSchema,
  InvalidArgumentError,
  isCallerCancellation,
  type Listener,
  parseOptions,
  systemClock,
  TypedEmitter,
} from '../core/index.js';
import { BrokenCircuitError, type RejectionReason } from './errors.js';
import { snapshotMismatch } from './internal.js';
import {
  anyOf,
  type BreakerPolicy,
  consecutiveFailures,
  isBreakerPolicy,
  type PolicySnapshot,
  type PolicyState,
} from './policies.js';

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
};

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
   * {@link anyOf}). Default `consecutiveFailures({ threshold: 5 })`.
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
}

/** Serialisable state of a breaker, from {@link Breaker.toJSON}. */
export interface BreakerSnapshot {
  /** Format version, currently 1. */
  readonly version: 1;
  /** The state. An isolated breaker restores isolated (see {@link Breaker.restoredIsolation}). */
  readonly state: BreakerState;
  /** Clock time at which an open breaker admits a probe (0 otherwise). */
  readonly openUntil: number;
  /** Consecutive trips since the last full recovery (the backoff attempt). */
  readonly trips: number;
  /** Duration of the last open period, ms (the backoff's previous delay). */
  readonly lastOpenMs: number;
  /** Progress of a half-open recovery. */
  readonly halfOpen: {
    /** -1 while probing, else the index of the ramp step. */
    readonly step: number;
    /** Successful probes so far. */
    readonly probeSuccesses: number;
    /** Clock time the current ramp step started. */
    readonly stepStartedAt: number;
    /** Successes on the current ramp step. */
    readonly stepSuccesses: number;
    /** Admission credit of the ramp. */
    readonly credit: number;
  };
  /** State of the policy. */
  readonly policy: PolicySnapshot;
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
  /** Typed events: `stateChange`, `rampStep`, `success`, `failure`, `ignored`, `rejected`. */
  readonly events: EventSource<BreakerEvents>;
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

const CLOSED = 0;
const OPEN = 1;
const HALF_OPEN = 2;
const ISOLATED = 3;
const NAMES: readonly BreakerState[] = ['closed', 'open', 'half-open', 'isolated'];
const STATE_CODES: Record<BreakerState, number> = {
  closed: CLOSED,
  open: OPEN,
  'half-open': HALF_OPEN,
  isolated: ISOLATED,
};

const KIND_CLOSED = 0;
const KIND_PROBE = 1;
const KIND_RAMP = 2;
const KIND_NAMES = ['closed', 'half-open', 'half-open'] as const;

/** Floating-point slack for the ramp's admission credit (0.1 × 10 is 0.9999999999999999). */
const EPSILON = 1e-9;

const halfOpenSchema = z
  .strictObject({
    probes: z.number().int().min(1).default(3),
    maxConcurrentProbes: z.number().int().min(1).default(1),
    probeTimeoutMs: z.number().finite().positive().default(30_000),
    ramp: z
      .array(z.number().gt(0).lt(1))
      .default([0.1, 0.25, 0.5])
      .superRefine((ramp, ctx) => {
        for (let i = 1; i < ramp.length; i++) {
          if (!(ramp[i]! > ramp[i - 1]!)) {
            ctx.addIssue({ code: 'custom', path: [i], message: 'ramp fractions must grow' });
          }
        }
      }),
    stepMs: z.number().finite().min(0).default(1_000),
    stepSuccesses: z.number().int().min(0).default(1),
  })
  .superRefine((o, ctx) => {
    if (
      Number.isInteger(o.probes) &&
      Number.isInteger(o.maxConcurrentProbes) &&
      o.maxConcurrentProbes > o.probes
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['maxConcurrentProbes'],
        message: `must be <= probes (${o.probes})`,
      });
    }
  });

const snapshotSchema = z.strictObject({
  version: z.literal(1),
  state: z.enum(['closed', 'open', 'half-open', 'isolated']),
  openUntil: z.number().finite(),
  trips: z.number().int().min(0),
  lastOpenMs: z.number().finite().min(0),
  halfOpen: z.strictObject({
    step: z.number().int().min(-1),
    probeSuccesses: z.number().int().min(0),
    stepStartedAt: z.number().finite(),
    stepSuccesses: z.number().int().min(0),
    credit: z.number().finite().min(0),
  }),
  policy: z.looseObject({ kind: z.string() }),
});

const optionsSchema = z
  .strictObject({
    name: z.string().min(1).default('breaker'),
    policy: z
      .custom<BreakerPolicy | readonly BreakerPolicy[]>(
        (v) => isBreakerPolicy(v) || (Array.isArray(v) && v.length > 0 && v.every(isBreakerPolicy)),
        {
          message:
            'must be a policy (consecutiveFailures(), failureRate(), ...) or a non-empty array of them',
        },
      )
      .optional(),
    openMs: z.number().finite().positive().optional(),
    openBackoff: z
      .custom<Backoff>(
        (v) => typeof v === 'object' && v !== null && typeof (v as Backoff).delayMs === 'function',
        { message: 'must be a backoff (an object with delayMs(attempt, previousMs))' },
      )
      .optional(),
    halfOpen: halfOpenSchema.prefault({}),
    isFailure: functionSchema<(error: unknown) => boolean>().optional(),
    clock: clockSchema.default(systemClock),
    afterIsolation: z.enum(['half-open', 'closed']).default('half-open'),
    restore: snapshotSchema.optional(),
    onListenerError: functionSchema<(error: unknown, event: string) => void>().optional(),
  })
  .superRefine((o, ctx) => {
    if (o.openMs !== undefined && o.openBackoff !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['openBackoff'],
        message: 'give openMs or openBackoff, not both',
      });
    }
  });

type ResolvedHalfOpen = Required<HalfOpenOptions>;

/** The emitter behind `breaker.events`; tracks whether any call event has a listener. */
class BreakerEmitter extends TypedEmitter<BreakerEvents> {
  /** True when `success`, `failure` or `ignored` has a listener. */
  callObserved = false;

  override on<K extends keyof BreakerEvents>(
    event: K,
    listener: Listener<BreakerEvents[K]>,
  ): () => void {
    const off = super.on(event, listener);
    this.#refresh();
    return off;
  }

  override off<K extends keyof BreakerEvents>(
    event: K,
    listener: Listener<BreakerEvents[K]>,
  ): void {
    super.off(event, listener);
    this.#refresh();
  }

  override removeAll(event?: keyof BreakerEvents): void {
    super.removeAll(event);
    this.#refresh();
  }

  #refresh(): void {
    this.callObserved = this.has('success') || this.has('failure') || this.has('ignored');
  }
}

const everyErrorIsAFailure = () => true;

class CircuitBreaker implements Breaker {
  readonly name: string;
  readonly events: BreakerEmitter;
  restoredIsolation: IsolationHandle | undefined;

  readonly #clock: Clock;
  readonly #policy: PolicyState;
  /** Closed calls need neither duration nor admission nor a clock read per call. */
  readonly #plain: boolean;
  readonly #timed: boolean;
  readonly #throttles: boolean;
  readonly #isFailure: (error: unknown) => boolean;
  readonly #openMs: number;
  readonly #openBackoff: Backoff | undefined;
  readonly #halfOpen: ResolvedHalfOpen;
  readonly #afterIsolation: 'half-open' | 'closed';

  #state = CLOSED;
  /** Bumped on every transition; a call settling under another epoch is stale. */
  #epoch = 0;
  #trips = 0;
  #lastOpenMs = 0;
  #openUntil = 0;
  // half-open
  #step = -1;
  #probeSuccesses = 0;
  #inFlightProbes = 0;
  #probeActivityAt = 0;
  #stepStartedAt = 0;
  #stepSuccesses = 0;
  #credit = 0;
  // isolation
  #isolations = 0;
  // fast-path handlers for the current closed epoch
  #onOk: (value: unknown) => unknown = (v) => v;
  #onErr: (error: unknown) => never = (e) => {
    throw e;
  };

  constructor(o: z.output<typeof optionsSchema>) {
    this.name = o.name;
    this.events = new BreakerEmitter(
      o.onListenerError ? { onListenerError: o.onListenerError } : {},
    );
    this.#clock = o.clock;
    const policy =
      o.policy === undefined
        ? consecutiveFailures()
        : isBreakerPolicy(o.policy)
          ? o.policy
          : (o.policy as readonly BreakerPolicy[]).length === 1
            ? (o.policy as readonly BreakerPolicy[])[0]!
            : anyOf(...(o.policy as readonly BreakerPolicy[]));
    this.#policy = policy.create(this.#clock);
    this.#timed = this.#policy.timed;
    this.#throttles = this.#policy.throttles;
    this.#plain = !this.#policy.throttles && !this.#policy.measuresDuration;
    this.#isFailure = o.isFailure ?? everyErrorIsAFailure;
    this.#openMs = o.openMs ?? 10_000;
    this.#openBackoff = o.openBackoff;
    this.#halfOpen = o.halfOpen;
    this.#afterIsolation = o.afterIsolation;
    if (o.restore) this.#restore(o.restore);
    else this.#armClosed();
  }

  // -------------------------------------------------------------------------------
  // calls

  execute<T>(
    fn: (signal: AbortSignal | undefined) => T | PromiseLike<T>,
    signal?: AbortSignal,
  ): Promise<Awaited<T>> {
    if (typeof fn !== 'function') {
      return Promise.reject(new InvalidArgumentError('fn', 'must be a function'));
    }
    if (this.#state === CLOSED && this.#plain && !this.events.callObserved) {
      // Hot path: no clock read, and no per-call closure unless there is a signal.
      if (signal === undefined) {
        let pending: Promise<unknown>;
        try {
          pending = Promise.resolve(fn(undefined));
        } catch (error) {
          pending = Promise.reject(error);
        }
        return pending.then(this.#onOk, this.#onErr) as Promise<Awaited<T>>;
      }
      if (signal.aborted) return Promise.reject(new AbortedError(signal.reason));
      const epoch = this.#epoch;
      let pending: Promise<unknown>;
      try {
        pending = Promise.resolve(fn(signal));
      } catch (error) {
        pending = Promise.reject(error);
      }
      return pending.then(this.#onOk, (error) =>
        this.#onSignalledError(error, signal, epoch),
      ) as Promise<Awaited<T>>;
    }
    // Refusing must stay cheap during an outage: no async frame, no stack trace.
    if (this.#state === OPEN && !signal?.aborted) {
      const now = this.#clock.now();
      if (now < this.#openUntil) return Promise.reject(this.#reject('open', this.#openUntil - now));
    } else if (this.#state === ISOLATED && !signal?.aborted) {
      return Promise.reject(this.#reject('isolated', undefined));
    }
    return this.#executeTracked(fn, signal);
  }

  #onSignalledError(error: unknown, signal: AbortSignal, epoch: number): never {
    if (epoch === this.#epoch && !isCallerCancellation(error, signal)) {
      this.#recordClosed(this.#counts(error));
    }
    throw error;
  }

  /** Create the fast-path handlers bound to the current (closed) epoch. */
  #armClosed(): void {
    const epoch = this.#epoch;
    this.#onOk = (value) => {
      if (epoch === this.#epoch) this.#recordClosed(false);
      return value;
    };
    this.#onErr = (error) => {
      if (epoch === this.#epoch && !(error instanceof AbortedError)) {
        this.#recordClosed(this.#counts(error));
      }
      throw error;
    };
  }

  #recordClosed(failed: boolean): void {
    const now = this.#timed ? this.#clock.now() : 0;
    if (this.#policy.record(failed, now, 0)) {
      this.#trip(this.#timed ? now : this.#clock.now(), undefined);
    }
  }

  /** Does this (non-cancellation) error count as a failure? A throwing predicate counts. */
  #counts(error: unknown): boolean {
    try {
      return Boolean(this.#isFailure(error));
    } catch {
      return true;
    }
  }

  async #executeTracked<T>(
    fn: (signal: AbortSignal | undefined) => T | PromiseLike<T>,
    signal: AbortSignal | undefined,
  ): Promise<Awaited<T>> {
    if (signal?.aborted) throw new AbortedError(signal.reason);
    const start = this.#clock.now();
    const kind = this.#admit(start);
    const epoch = this.#epoch;
    let value: Awaited<T>;
    try {
      value = await fn(signal);
    } catch (error) {
      this.#settleError(kind, epoch, error, signal, start);
      throw error;
    }
    this.#settleSuccess(kind, epoch, start, undefined, false);
    return value;
  }

  /** Decide whether a call may go ahead; returns its kind or throws BrokenCircuitError. */
  #admit(now: number): number {
    switch (this.#state) {
      case CLOSED:
        if (this.#throttles && !this.#policy.admit(now)) throw this.#reject('throttled', undefined);
        return KIND_CLOSED;
      case OPEN:
        if (now < this.#openUntil) throw this.#reject('open', this.#openUntil - now);
        this.#enterHalfOpen(now, 'open period elapsed');
        return this.#admitHalfOpen(now);
      case HALF_OPEN:
        return this.#admitHalfOpen(now);
      default:
        throw this.#reject('isolated', undefined);
    }
  }

  #admitHalfOpen(now: number): number {
    const h = this.#halfOpen;
    if (this.#step < 0) {
      if (
        this.#inFlightProbes >= h.maxConcurrentProbes ||
        this.#probeSuccesses + this.#inFlightProbes >= h.probes
      ) {
        if (this.#inFlightProbes > 0 && now - this.#probeActivityAt >= h.probeTimeoutMs) {
          this.#trip(now, `no probe settled within ${h.probeTimeoutMs} ms`);
          throw this.#reject('open', this.#openUntil - now);
        }
        throw this.#reject('probing', undefined);
      }
      this.#inFlightProbes++;
      this.#probeActivityAt = now;
      return KIND_PROBE;
    }
    this.#maybeAdvance(now);
    if (this.#state === CLOSED) return KIND_CLOSED;
    const credit = this.#credit + h.ramp[this.#step]!;
    if (credit >= 1 - EPSILON) {
      this.#credit = Math.max(0, credit - 1);
      return KIND_RAMP;
    }
    this.#credit = credit;
    throw this.#reject('ramp', undefined);
  }

  #reject(reason: RejectionReason, retryAfterMs: number | undefined): BrokenCircuitError {
    const state = NAMES[this.#state]!;
    if (this.events.has('rejected')) this.events.emit('rejected', { reason, state, retryAfterMs });
    // No stack trace: capturing one costs microseconds on the path that must be cheapest
    // in an outage, and the message already names the breaker and the reason.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      return new BrokenCircuitError({ breaker: this.name, state, reason, retryAfterMs });
    } finally {
      Error.stackTraceLimit = limit;
    }
  }

  #settleSuccess(
    kind: number,
    epoch: number,
    start: number,
    error: unknown,
    withError: boolean,
  ): void {
    const now = this.#clock.now();
    const durationMs = now - start;
    if (this.events.has('success')) {
      this.events.emit(
        'success',
        withError
          ? { durationMs, state: KIND_NAMES[kind]!, error }
          : { durationMs, state: KIND_NAMES[kind]! },
      );
    }
    if (epoch !== this.#epoch) return;
    if (kind === KIND_CLOSED) {
      if (this.#policy.record(false, now, durationMs)) this.#trip(now, undefined);
    } else if (kind === KIND_PROBE) {
      this.#inFlightProbes--;
      this.#probeActivityAt = now;
      if (++this.#probeSuccesses >= this.#halfOpen.probes) this.#startRamp(now);
    } else {
      this.#stepSuccesses++;
      this.#maybeAdvance(now);
    }
  }

  #settleError(
    kind: number,
    epoch: number,
    error: unknown,
    signal: AbortSignal | undefined,
    start: number,
  ): void {
    if (isCallerCancellation(error, signal)) {
      const now = this.#clock.now();
      if (this.events.has('ignored')) {
        this.events.emit('ignored', { error, durationMs: now - start, state: KIND_NAMES[kind]! });
      }
      if (epoch === this.#epoch && kind === KIND_PROBE) {
        this.#inFlightProbes--;
        this.#probeActivityAt = now;
      }
      return;
    }
    if (!this.#counts(error)) {
      this.#settleSuccess(kind, epoch, start, error, true);
      return;
    }
    const now = this.#clock.now();
    const durationMs = now - start;
    if (this.events.has('failure')) {
      this.events.emit('failure', { error, durationMs, state: KIND_NAMES[kind]! });
    }
    if (epoch !== this.#epoch) return;
    if (kind === KIND_CLOSED) {
      if (this.#policy.record(true, now, durationMs)) this.#trip(now, undefined);
    } else {
      this.#trip(now, kind === KIND_PROBE ? 'probe failed' : 'failure during recovery ramp');
    }
  }

  // -------------------------------------------------------------------------------
  // transitions

  #transition(to: number, reason: string, openMs?: number): void {
    const from = this.#state;
    this.#state = to;
    this.#epoch++;
    if (to === CLOSED) this.#armClosed();
    if (this.events.has('stateChange')) {
      this.events.emit(
        'stateChange',
        openMs === undefined
          ? { from: NAMES[from]!, to: NAMES[to]!, reason }
          : { from: NAMES[from]!, to: NAMES[to]!, reason, openMs },
      );
    }
  }

  #trip(now: number, reason: string | undefined): void {
    const trips = ++this.#trips;
    const openMs = this.#openBackoff
      ? Math.max(0, this.#openBackoff.delayMs(trips, this.#lastOpenMs))
      : this.#openMs;
    this.#lastOpenMs = openMs;
    this.#openUntil = now + openMs;
    this.#inFlightProbes = 0;
    this.#transition(OPEN, reason ?? this.#policy.tripReason(), openMs);
  }

  #enterHalfOpen(now: number, reason: string): void {
    this.#step = -1;
    this.#probeSuccesses = 0;
    this.#inFlightProbes = 0;
    this.#probeActivityAt = now;
    this.#stepSuccesses = 0;
    this.#credit = 0;
    this.#transition(HALF_OPEN, reason);
  }

  #startRamp(now: number): void {
    if (this.#halfOpen.ramp.length === 0) {
      this.#close('recovered');
      return;
    }
    this.#step = 0;
    this.#stepStartedAt = now;
    this.#stepSuccesses = 0;
    // Enough credit that the first call of the ramp is admitted, then `fraction` per call.
    this.#credit = 1 - this.#halfOpen.ramp[0]!;
    this.#emitStep();
  }

  #maybeAdvance(now: number): void {
    const h = this.#halfOpen;
    if (now - this.#stepStartedAt < h.stepMs || this.#stepSuccesses < h.stepSuccesses) return;
    if (this.#step + 1 >= h.ramp.length) {
      this.#close('recovered');
      return;
    }
    this.#step++;
    this.#stepStartedAt = now;
    this.#stepSuccesses = 0;
    this.#emitStep();
  }

  #emitStep(): void {
    if (this.events.has('rampStep')) {
      this.events.emit('rampStep', {
        step: this.#step,
        fraction: this.#halfOpen.ramp[this.#step]!,
      });
    }
  }

  #close(reason: string): void {
    this.#trips = 0;
    this.#lastOpenMs = 0;
    this.#openUntil = 0;
    this.#step = -1;
    this.#inFlightProbes = 0;
    this.#policy.reset();
    this.#transition(CLOSED, reason);
  }

  // -------------------------------------------------------------------------------
  // public state

  get state(): BreakerState {
    if (this.#state === OPEN) {
      const now = this.#clock.now();
      if (now >= this.#openUntil) this.#enterHalfOpen(now, 'open period elapsed');
    }
    return NAMES[this.#state]!;
  }

  isolate(): IsolationHandle {
    if (this.#isolations++ === 0) this.#transition(ISOLATED, 'isolated manually');
    return this.#isolationHandle();
  }

  #isolationHandle(): IsolationHandle {
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        if (--this.#isolations === 0) this.#endIsolation();
      },
      get released() {
        return released;
      },
    };
  }

  #endIsolation(): void {
    if (this.#afterIsolation === 'closed') this.#close('isolation released');
    else this.#enterHalfOpen(this.#clock.now(), 'isolation released');
  }

  toJSON(): BreakerSnapshot {
    const state = this.#state;
    return {
      version: 1,
      state: NAMES[state]!,
      openUntil: state === OPEN ? this.#openUntil : 0,
      trips: this.#trips,
      lastOpenMs: this.#lastOpenMs,
      halfOpen: {
        step: state === HALF_OPEN ? this.#step : -1,
        probeSuccesses: state === HALF_OPEN ? this.#probeSuccesses : 0,
        stepStartedAt: state === HALF_OPEN ? this.#stepStartedAt : 0,
        stepSuccesses: state === HALF_OPEN ? this.#stepSuccesses : 0,
        credit: state === HALF_OPEN ? this.#credit : 0,
      },
      policy: this.#policy.toJSON(),
    };
  }

  #restore(s: z.output<typeof snapshotSchema>): void {
    const kind = this.#policy.toJSON().kind;
    if (s.policy.kind !== kind) {
      snapshotMismatch(
        'restore.policy.kind',
        `is "${s.policy.kind}" but the breaker is configured with "${kind}"`,
      );
    }
    this.#policy.restore(s.policy as PolicySnapshot, 'restore.policy');
    const now = this.#clock.now();
    this.#trips = s.trips;
    this.#lastOpenMs = s.lastOpenMs;
    this.#state = STATE_CODES[s.state];
    switch (this.#state) {
      case CLOSED:
        this.#armClosed();
        break;
      case OPEN:
        this.#openUntil = s.openUntil;
        break;
      case HALF_OPEN: {
        const h = s.halfOpen;
        // A ramp shortened by a configuration change resumes on its last step.
        this.#step = Math.min(h.step, this.#halfOpen.ramp.length - 1);
        this.#probeSuccesses =
          this.#step < 0 ? Math.min(h.probeSuccesses, this.#halfOpen.probes - 1) : h.probeSuccesses;
        this.#probeActivityAt = now;
        this.#stepStartedAt = h.stepStartedAt;
        this.#stepSuccesses = h.stepSuccesses;
        this.#credit = Math.min(h.credit, 1);
        break;
      }
      default:
        this.#isolations = 1;
        this.restoredIsolation = this.#isolationHandle();
    }
  }
}

/**
 * Create a circuit breaker: it watches the outcomes of the calls you run through
 * `execute`, trips (opens) when its policy says the dependency is failing, refuses
 * calls while open so the dependency can recover, then recovers through a half-open
 * ramp — a few probe calls, then growing fractions of traffic — back to closed. Any
 * failure during recovery reopens it, for longer each time when `openBackoff` is set.
 *
 * @example
 * ```ts
 * import { exponential } from 'girder/core';
 * import { circuitBreaker, failureRate, BrokenCircuitError } from 'girder/breaker';
 *
 * const breaker = circuitBreaker({
 *   name: 'inventory',
 *   policy: failureRate({ threshold: 0.5, minimumCalls: 20, windowMs: 10_000 }),
 *   openBackoff: exponential({ initialMs: 5_000, maxMs: 60_000, jitter: 'equal' }),
 *   halfOpen: { probes: 3, ramp: [0.1, 0.25, 0.5], stepMs: 2_000 },
 *   isFailure: (err) => !(err instanceof NotFoundError), // a 404 is an answer, not an outage
 * });
 * breaker.events.on('stateChange', ({ from, to, reason }) => log.warn('breaker', { from, to, reason }));
 *
 * const stock = await breaker.execute((signal) => inventory.get(sku, { signal }), request.signal);
 * ```
 */
export function circuitBreaker(options: CircuitBreakerOptions = {}): Breaker {
  return new CircuitBreaker(parseOptions('circuitBreaker', optionsSchema, options));
}
