/**
 * Keep calling a dependency when one of its instances fails: ordered or round-robin
 * failover, failover on consecutive timeouts, failover driven by a health detector,
 * retries with backoff and a shared retry budget, per-call deadlines, and a live
 * traffic split for gray releases. Every decorator takes objects of any interface and
 * returns that same type, with its typed `events` and its `control` as two extra
 * non-enumerable properties (see {@link Decorated}), so it stacks with
 * `withRateLimit` and `withBreaker`.
 *
 * @module failover
 */

export type { Decay, DecayByAlpha, DecayByCalls, DecayByTime } from '../core/index.js';
// The backoffs and signal helpers live in core; re-exported so `girder/failover` alone covers retry.
export {
  type Backoff,
  constant,
  defaultSignalOf,
  exponential,
  type Jitter,
  type SignalOf,
} from '../core/index.js';
export { defaultSignalInto, type SignalInto } from '../core/signal-of.js';
export {
  type RetryBudget,
  type RetryBudgetOptions,
  type RetryBudgetStats,
  retryBudget,
} from './budget.js';
export { AllTargetsFailedError, type TargetFailure } from './errors.js';
export type { DownReason, FailoverEvents, SwitchReason } from './events.js';
export {
  type Failover,
  type FailoverControl,
  type FailoverOptions,
  type FailoverStrategy,
  failover,
} from './failover.js';
export {
  type HealthFailover,
  type HealthFailoverControl,
  type HealthFailoverOptions,
  healthFailover,
} from './health.js';
export {
  type GiveUpReason,
  type RetryEvents,
  type RetryOptions,
  type RetryPolicyOptions,
  retry,
} from './retry.js';
export type { Decorated, DecoratedTarget } from './shared.js';
export {
  stickyBucket,
  type TrafficSplit,
  type TrafficSplitControl,
  type TrafficSplitOptions,
  trafficSplit,
} from './split.js';
export type { TargetHealth } from './target-health.js';
export {
  isTimeoutError,
  type TimeoutFailover,
  type TimeoutFailoverControl,
  type TimeoutFailoverOptions,
  timeoutFailover,
} from './timeout.js';
export type { FailedAttempt } from './try-in-order.js';
export {
  type DeadlineControl,
  type DeadlineEvents,
  type DeadlineOptions,
  type WithDeadline,
  type WithDeadlineOptions,
  withDeadline,
} from './with-deadline.js';
export {
  type RetryControl,
  type WithRetry,
  type WithRetryOptions,
  withRetry,
} from './with-retry.js';
