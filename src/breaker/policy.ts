// The policy contract shared by every tripping policy, and helpers the policies share.
import type { Clock } from '../core/index.js';

/**
 * Serialised state of a policy, part of a breaker's `toJSON()` snapshot. `kind` names
 * the policy; the other fields are the policy's own. Policies with a window store it
 * under `window` with its geometry (`TimeWindowSnapshot` or `CountWindowSnapshot` from
 * `girder/core`).
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
   * A policy that counts attempts counts the call here, admitted or not.
   */
  admit(now: number): boolean;
  /**
   * Record the outcome of one call made while closed. Return true to trip the breaker.
   * `now` is 0 unless `timed`; `durationMs` is 0 unless `measuresDuration`.
   */
  record(failed: boolean, now: number, durationMs: number): boolean;
  /**
   * Optional, for throttling policies: a call admitted at `admittedAt` (closed state,
   * same closed period) was cancelled by its caller, which never counts; take back what
   * `admit` counted for it.
   */
  cancelled?(admittedAt: number): void;
  /** Human-readable reason of the last trip, e.g. `5 consecutive failures`. */
  tripReason(): string;
  /** Forget all history (called when the breaker closes after a full recovery). */
  reset(): void;
  /** Serialise the state for a breaker snapshot. */
  toJSON(): PolicySnapshot;
  /**
   * Load a snapshot produced by `toJSON`. Throw `InvalidOptionsError` (with `path` as
   * the prefix of every issue) when it is malformed or from a differently shaped
   * window, leaving the state unchanged.
   */
  restore(snapshot: PolicySnapshot, path: string): void;
}

/**
 * A tripping policy: immutable configuration that creates fresh state for every
 * breaker using it, so one policy object can configure many breakers. Build one with
 * `consecutiveFailures`, `failureRate`, `slowCalls`, `adaptiveThrottle` or `anyOf` —
 * or implement your own.
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

/** True when `value` looks like a {@link BreakerPolicy}. @internal */
export function isBreakerPolicy(value: unknown): value is BreakerPolicy {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as BreakerPolicy).kind === 'string' &&
    typeof (value as BreakerPolicy).create === 'function'
  );
}

/** `value / of` as a percentage with one decimal. @internal */
export const ratio = (value: number, of: number) => `${Math.round((value / of) * 1000) / 10}%`;

/** Default length of a time window, ms. @internal */
export const DEFAULT_WINDOW_MS = 10_000;
/** Default number of buckets of a time window. @internal */
export const DEFAULT_BUCKETS = 10;
