// The circuit breaker: a state machine over a policy (closed), an open deadline, a
// half-open ramp and manual isolation. State is a union: each state carries only its
// own data (the open deadline, the ramp), so no field outlives the state it belongs to.
import {
  AbortedError,
  type Backoff,
  type Clock,
  isCallerCancellation,
  parseOptions,
} from '../core/index.js';
import { BreakerEmitter } from './emitter.js';
import { type BrokenCircuitError, type RejectionReason, refusal } from './errors.js';
import {
  ADMIT_PROBE,
  ADMIT_RAMP,
  type HalfOpenRamp,
  PROBES_HUNG,
  RAMP_DONE,
  RECOVERED,
  REFUSE_PROBING,
  type ResolvedHalfOpen,
  STEPPED,
} from './half-open.js';
import { badCall } from './internal.js';
import { Isolations } from './isolation.js';
import { optionsSchema, type ResolvedOptions, resolvePolicy } from './options.js';
import type { PolicyState } from './policy.js';
import {
  type BreakerSnapshot,
  type ParsedSnapshot,
  restorePolicy,
  SNAPSHOT_VERSION,
} from './snapshot.js';
import {
  CLOSED,
  CLOSED_STATE,
  type Current,
  HALF_OPEN,
  type HalfOpenState,
  halfOpenState,
  ISOLATED,
  ISOLATED_STATE,
  NAMES,
  OPEN,
  type OpenState,
  stateFromSnapshot,
  stateSnapshot,
} from './state.js';
import type {
  Breaker,
  BreakerCallCounts,
  BreakerState,
  CircuitBreakerOptions,
  IsolationHandle,
} from './types.js';

/** How a call was admitted. */
const KIND_CLOSED = 0;
const KIND_PROBE = 1;
const KIND_RAMP = 2;
const KIND_NAMES = ['closed', 'half-open', 'half-open'] as const;

const everyErrorIsAFailure = () => true;
/** Read once: a global lookup on every call shows in the hot path. */
const NativeAbortSignal = globalThis.AbortSignal;

/** Call `fn`; a synchronous throw becomes a rejection. */
function invoke(
  fn: (signal: AbortSignal | undefined) => unknown,
  signal: AbortSignal | undefined,
): Promise<unknown> {
  try {
    return Promise.resolve(fn(signal));
  } catch (error) {
    return Promise.reject(error);
  }
}

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
  readonly #sampleEvery: number;
  /** Calls left before the next one is timed for `callSample` (counted only while sampled). */
  #untimed: number;
  /** Running totals behind `callCounts`: plain adds, so the hot path can keep them. */
  readonly #tally = { success: 0, failure: 0, rejected: 0, ignored: 0 };

  #state: Current = CLOSED_STATE;
  /** Bumped on every transition; a call settling under another epoch is stale. */
  #epoch = 0;
  #trips = 0;
  #lastOpenMs = 0;
  readonly #isolations = new Isolations(() => this.#endIsolation());
  // fast-path handlers for the current closed epoch
  #onOk: (value: unknown) => unknown = (v) => v;
  #onErr: (error: unknown) => never = (e) => {
    throw e;
  };

  constructor(o: ResolvedOptions) {
    this.name = o.name;
    this.events = new BreakerEmitter(
      o.onListenerError ? { onListenerError: o.onListenerError } : {},
    );
    this.#clock = o.clock;
    this.#policy = resolvePolicy(o.policy).create(this.#clock);
    this.#timed = this.#policy.timed;
    this.#throttles = this.#policy.throttles;
    this.#plain = !this.#policy.throttles && !this.#policy.measuresDuration;
    this.#isFailure = o.isFailure ?? everyErrorIsAFailure;
    this.#openMs = o.openMs ?? 10_000;
    this.#openBackoff = o.openBackoff;
    this.#halfOpen = o.halfOpen;
    this.#afterIsolation = o.afterIsolation;
    this.#sampleEvery = o.callSampleEvery;
    this.#untimed = o.callSampleEvery;
    if (o.restore) this.#restore(o.restore);
    else this.#armClosed();
  }

  get callCounts(): BreakerCallCounts {
    const t = this.#tally;
    return { success: t.success, failure: t.failure, rejected: t.rejected, ignored: t.ignored };
  }

  // -------------------------------------------------------------------------------
  // calls

  execute<T>(
    fn: (signal: AbortSignal | undefined) => T | PromiseLike<T>,
    signal?: AbortSignal,
  ): Promise<Awaited<T>> {
    if (
      typeof fn !== 'function' ||
      (signal !== undefined && !(signal instanceof NativeAbortSignal))
    ) {
      const bad = badCall(fn, signal); // the slow path: a signal-shaped object passes
      if (bad !== undefined) return Promise.reject(bad);
    }
    const state = this.#state;
    // Closed is a singleton state object: one identity check.
    if (
      state === CLOSED_STATE &&
      this.#plain &&
      !this.events.callObserved &&
      (!this.events.sampleObserved || --this.#untimed > 0)
    ) {
      // Hot path: no clock read, and no per-call closure unless there is a signal.
      if (signal === undefined) {
        return invoke(fn, undefined).then(this.#onOk, this.#onErr) as Promise<Awaited<T>>;
      }
      if (signal.aborted) return Promise.reject(new AbortedError(signal.reason));
      const epoch = this.#epoch;
      return invoke(fn, signal).then(this.#onOk, (error) =>
        this.#onSignalledError(error, signal, epoch),
      ) as Promise<Awaited<T>>;
    }
    // Refusing must stay cheap during an outage: no async frame, no stack trace.
    if (state.code === OPEN && !signal?.aborted) {
      const now = this.#clock.now();
      if (now < state.openUntil) {
        return Promise.reject(this.#reject('open', state.openUntil - now));
      }
    } else if (state.code === ISOLATED && !signal?.aborted) {
      return Promise.reject(this.#reject('isolated', undefined));
    }
    return this.#executeTracked(fn, signal);
  }

  #onSignalledError(error: unknown, signal: AbortSignal, epoch: number): never {
    if (isCallerCancellation(error, signal)) {
      this.#tally.ignored++;
    } else {
      const failed = this.#counts(error);
      if (failed) this.#tally.failure++;
      else this.#tally.success++;
      if (epoch === this.#epoch) this.#recordClosed(failed);
    }
    throw error;
  }

  /** Create the fast-path handlers bound to the current (closed) epoch. */
  #armClosed(): void {
    const epoch = this.#epoch;
    this.#onOk = (value) => {
      this.#tally.success++;
      if (epoch === this.#epoch) this.#recordClosed(false);
      return value;
    };
    this.#onErr = (error) => {
      if (error instanceof AbortedError) {
        this.#tally.ignored++;
      } else {
        const failed = this.#counts(error);
        if (failed) this.#tally.failure++;
        else this.#tally.success++;
        if (epoch === this.#epoch) this.#recordClosed(failed);
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

  // Promise handlers, not an async frame: this path runs on every call while anyone
  // listens to call events (metrics), so it must stay close to the hot path's cost.
  #executeTracked<T>(
    fn: (signal: AbortSignal | undefined) => T | PromiseLike<T>,
    signal: AbortSignal | undefined,
  ): Promise<Awaited<T>> {
    if (signal?.aborted) return Promise.reject(new AbortedError(signal.reason));
    const start = this.#clock.now();
    let kind: number;
    try {
      kind = this.#admit(start);
    } catch (error) {
      return Promise.reject(error);
    }
    // The hot path already counted this call down when it handed it over at zero.
    let sampled = false;
    if (this.events.sampleObserved && (this.#untimed <= 0 || --this.#untimed <= 0)) {
      sampled = true;
      this.#untimed = this.#sampleEvery;
    }
    const epoch = this.#epoch;
    return invoke(fn, signal).then(
      (value) => {
        this.#settleSuccess(kind, epoch, start, undefined, false, sampled);
        return value;
      },
      (error: unknown) => {
        this.#settleError(kind, epoch, error, signal, start, sampled);
        throw error;
      },
    ) as Promise<Awaited<T>>;
  }

  /** Decide whether a call may go ahead; returns its kind or throws BrokenCircuitError. */
  #admit(now: number): number {
    const state = this.#state;
    switch (state.code) {
      case CLOSED:
        return this.#admitClosed(now);
      case OPEN:
        if (now < state.openUntil) throw this.#reject('open', state.openUntil - now);
        return this.#admitHalfOpen(this.#enterHalfOpen(now, 'open period elapsed'), now);
      case HALF_OPEN:
        return this.#admitHalfOpen(state, now);
      default:
        throw this.#reject('isolated', undefined);
    }
  }

  #admitClosed(now: number): number {
    if (this.#throttles && !this.#policy.admit(now)) throw this.#reject('throttled', undefined);
    return KIND_CLOSED;
  }

  #admitHalfOpen(state: HalfOpenState, now: number): number {
    const ramp = state.ramp;
    const step = ramp.step;
    const decision = ramp.admit(now);
    if (decision === ADMIT_PROBE) return KIND_PROBE;
    if (decision === REFUSE_PROBING) throw this.#reject('probing', undefined);
    if (decision === PROBES_HUNG) {
      this.#trip(now, `no probe settled within ${this.#halfOpen.probeTimeoutMs} ms`);
      const open = this.#state as OpenState;
      throw this.#reject('open', open.openUntil - now);
    }
    if (decision === RAMP_DONE) {
      this.#close('recovered');
      return this.#admitClosed(now);
    }
    if (ramp.step !== step) this.#emitStep(ramp);
    if (decision === ADMIT_RAMP) return KIND_RAMP;
    throw this.#reject('ramp', undefined);
  }

  #reject(reason: RejectionReason, retryAfterMs: number | undefined): BrokenCircuitError {
    this.#tally.rejected++;
    const state = NAMES[this.#state.code]!;
    if (this.events.has('rejected')) this.events.emit('rejected', { reason, state, retryAfterMs });
    return refusal({ breaker: this.name, state, reason, retryAfterMs });
  }

  #settleSuccess(
    kind: number,
    epoch: number,
    start: number,
    error: unknown,
    withError: boolean,
    sampled: boolean,
  ): void {
    const now = this.#clock.now();
    const durationMs = now - start;
    this.#tally.success++;
    this.events.success(durationMs, KIND_NAMES[kind]!, error, withError);
    if (sampled) this.events.sample('success', durationMs, KIND_NAMES[kind]!);
    if (epoch !== this.#epoch) return;
    if (kind === KIND_CLOSED) {
      if (this.#policy.record(false, now, durationMs)) this.#trip(now, undefined);
      return;
    }
    // Same epoch, so still the half-open state (and ramp) that admitted the call.
    const ramp = (this.#state as HalfOpenState).ramp;
    const outcome = kind === KIND_PROBE ? ramp.probeSucceeded(now) : ramp.rampSucceeded(now);
    if (outcome === STEPPED) this.#emitStep(ramp);
    else if (outcome === RECOVERED) this.#close('recovered');
  }

  #settleError(
    kind: number,
    epoch: number,
    error: unknown,
    signal: AbortSignal | undefined,
    start: number,
    sampled: boolean,
  ): void {
    if (isCallerCancellation(error, signal)) {
      const now = this.#clock.now();
      this.#tally.ignored++;
      this.events.call('ignored', error, now - start, KIND_NAMES[kind]!);
      if (sampled) this.events.sample('ignored', now - start, KIND_NAMES[kind]!);
      if (epoch !== this.#epoch) return;
      if (kind === KIND_PROBE) (this.#state as HalfOpenState).ramp.probeCancelled(now);
      else if (kind === KIND_CLOSED && this.#throttles) this.#policy.cancelled?.(start);
      return;
    }
    if (!this.#counts(error)) {
      this.#settleSuccess(kind, epoch, start, error, true, sampled);
      return;
    }
    const now = this.#clock.now();
    const durationMs = now - start;
    this.#tally.failure++;
    this.events.call('failure', error, durationMs, KIND_NAMES[kind]!);
    if (sampled) this.events.sample('failure', durationMs, KIND_NAMES[kind]!);
    if (epoch !== this.#epoch) return;
    if (kind === KIND_CLOSED) {
      if (this.#policy.record(true, now, durationMs)) this.#trip(now, undefined);
    } else {
      this.#trip(now, kind === KIND_PROBE ? 'probe failed' : 'failure during recovery ramp');
    }
  }

  // -------------------------------------------------------------------------------
  // transitions

  #transition(to: Current, reason: string, openMs?: number): void {
    const from = NAMES[this.#state.code]!;
    this.#state = to;
    this.#epoch++;
    if (to.code === CLOSED) this.#armClosed();
    this.events.stateChange(from, NAMES[to.code]!, reason, openMs);
  }

  #trip(now: number, reason: string | undefined): void {
    const trips = ++this.#trips;
    const openMs = this.#openBackoff
      ? Math.max(0, this.#openBackoff.delayMs(trips, this.#lastOpenMs))
      : this.#openMs;
    this.#lastOpenMs = openMs;
    this.#transition(
      { code: OPEN, openUntil: now + openMs },
      reason ?? this.#policy.tripReason(),
      openMs,
    );
  }

  #enterHalfOpen(now: number, reason: string): HalfOpenState {
    const state = halfOpenState(this.#halfOpen, now);
    this.#transition(state, reason);
    return state;
  }

  #emitStep(ramp: HalfOpenRamp): void {
    if (this.events.has('rampStep')) this.events.emit('rampStep', ramp.stepEvent());
  }

  #close(reason: string): void {
    this.#trips = 0;
    this.#lastOpenMs = 0;
    this.#policy.reset();
    this.#transition(CLOSED_STATE, reason);
  }

  // -------------------------------------------------------------------------------
  // public state

  get state(): BreakerState {
    const state = this.#state;
    if (state.code === OPEN) {
      const now = this.#clock.now();
      if (now >= state.openUntil) this.#enterHalfOpen(now, 'open period elapsed');
    }
    return NAMES[this.#state.code]!;
  }

  isolate(): IsolationHandle {
    if (this.#isolations.hold()) this.#transition(ISOLATED_STATE, 'isolated manually');
    return this.#isolations.handle();
  }

  #endIsolation(): void {
    if (this.#afterIsolation === 'closed') this.#close('isolation released');
    else this.#enterHalfOpen(this.#clock.now(), 'isolation released');
  }

  toJSON(): BreakerSnapshot {
    const { state, openUntil, halfOpen } = stateSnapshot(this.#state);
    return {
      version: SNAPSHOT_VERSION,
      state,
      openUntil,
      trips: this.#trips,
      lastOpenMs: this.#lastOpenMs,
      halfOpen,
      policy: this.#policy.toJSON(),
    };
  }

  #restore(s: ParsedSnapshot): void {
    restorePolicy(this.#policy, s.policy);
    this.#trips = s.trips;
    this.#lastOpenMs = s.lastOpenMs;
    this.#state = stateFromSnapshot(s, this.#halfOpen, this.#clock.now());
    if (this.#state.code === CLOSED) this.#armClosed();
    else if (this.#state.code === ISOLATED) {
      this.#isolations.hold();
      this.restoredIsolation = this.#isolations.handle();
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
