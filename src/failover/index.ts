/**
 * Keep calling a dependency when one of its instances fails: ordered or round-robin
 * failover, failover on consecutive timeouts, failover driven by a health detector,
 * retries with backoff and a shared retry budget, and a live traffic split for gray
 * releases. Every decorator takes objects of any interface and returns that same type,
 * so it stacks with `rateLimited` and `withBreaker`.
 *
 * @module failover
 */

// The backoffs live in core; re-exported so `girder/failover` alone covers retry.
export {
  type Backoff,
  constant,
  defaultSignalOf,
  exponential,
  type Jitter,
  type SignalOf,
} from '../core/index.js';
export { AllTargetsFailedError, type TargetFailure } from './errors.js';
export {
  type DownReason,
  type FailoverEvents,
  failoverEvents,
  type SwitchReason,
} from './events.js';
export {
  type FailedAttempt,
  type FailoverOptions,
  type FailoverStrategy,
  failover,
} from './failover.js';
export {
  type Decay,
  type DecayByAlpha,
  type DecayByCalls,
  type DecayByTime,
  type HealthFailoverControl,
  type HealthFailoverOptions,
  healthFailover,
  healthFailoverControl,
  type TargetHealth,
} from './health.js';
export {
  type GiveUpReason,
  type RetryBudget,
  type RetryBudgetOptions,
  type RetryBudgetStats,
  type RetryEvents,
  type RetryOptions,
  retry,
  retryBudget,
} from './retry.js';
export {
  stickyBucket,
  type TrafficSplitControl,
  type TrafficSplitOptions,
  trafficSplit,
  trafficSplitControl,
} from './split.js';
export {
  isTimeoutError,
  type TimeoutFailoverControl,
  type TimeoutFailoverOptions,
  timeoutFailover,
  timeoutFailoverControl,
} from './timeout.js';
