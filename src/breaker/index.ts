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
  type Breaker,
  type BreakerEvents,
  type BreakerSnapshot,
  type BreakerState,
  type CircuitBreakerOptions,
  circuitBreaker,
  type FailureEvent,
  type HalfOpenOptions,
  type IgnoredEvent,
  type IsolationHandle,
  type RampStepEvent,
  type RejectedEvent,
  type StateChangeEvent,
  type SuccessEvent,
} from './breaker.js';
export { type WithBreakerOptions, withBreaker } from './decorator.js';
export { type BrokenCircuitDetails, BrokenCircuitError, type RejectionReason } from './errors.js';
export {
  type AdaptiveThrottleOptions,
  type AdaptiveThrottlePolicy,
  type AnyOfPolicy,
  adaptiveThrottle,
  anyOf,
  type BreakerPolicy,
  type ConsecutiveFailuresOptions,
  type ConsecutiveFailuresPolicy,
  consecutiveFailures,
  type FailureRateOptions,
  type FailureRatePolicy,
  failureRate,
  type PolicySnapshot,
  type PolicyState,
  type ResolvedFailureRateOptions,
  type SlowCallsOptions,
  type SlowCallsPolicy,
  slowCalls,
} from './policies.js';
