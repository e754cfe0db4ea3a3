/**
 * Circuit breakers: detect a failing dependency, stop sending it traffic so it can
 * recover, and bring traffic back gradually. Policies `consecutiveFailures`,
 * `failureRate`, `slowCalls` and `adaptiveThrottle` (Google SRE client-side
 * throttling), combined with `anyOf`; a half-open recovery ramp; manual isolation;
 * snapshots; and the `withBreaker` decorator.
 *
 * @module breaker
 */

export {
  type AdaptiveThrottleOptions,
  type AdaptiveThrottlePolicy,
  adaptiveThrottle,
} from './adaptive-throttle.js';
export { type AnyOfPolicy, anyOf } from './any-of.js';
export { circuitBreaker } from './breaker.js';
export {
  type ConsecutiveFailuresOptions,
  type ConsecutiveFailuresPolicy,
  consecutiveFailures,
} from './consecutive-failures.js';
export { type WithBreakerOptions, withBreaker } from './decorator.js';
export { type BrokenCircuitDetails, BrokenCircuitError, type RejectionReason } from './errors.js';
export {
  type FailureRateOptions,
  type FailureRatePolicy,
  failureRate,
  type ResolvedFailureRateOptions,
} from './failure-rate.js';
export type { BreakerPolicy, PolicySnapshot, PolicyState } from './policy.js';
export { type SlowCallsOptions, type SlowCallsPolicy, slowCalls } from './slow-calls.js';
export type { BreakerSnapshot } from './snapshot.js';
export type {
  Breaker,
  BreakerCallCounts,
  BreakerEvents,
  BreakerState,
  CallSampleEvent,
  CircuitBreakerOptions,
  FailureEvent,
  HalfOpenOptions,
  IgnoredEvent,
  IsolationHandle,
  RampStepEvent,
  RejectedEvent,
  StateChangeEvent,
  SuccessEvent,
} from './types.js';
