// What `watch` accepts, and how it tells one block from another: by shape, never by
// class, so blocks behind girder's decorators (which keep their targets' types) and
// blocks from another copy of the package are recognised alike.

import type { Balanced, BalancerPicker, EjectingPicker } from '../balancer/index.js';
import type { Breaker } from '../breaker/index.js';
import type { Cache, Counters, RankingJob } from '../cache/index.js';
import { type EventSource, InvalidArgumentError } from '../core/index.js';
import type {
  DeadlineControl,
  DeadlineEvents,
  FailoverControl,
  FailoverEvents,
  HealthFailoverControl,
  RetryBudget,
  RetryControl,
  RetryEvents,
  TimeoutFailoverControl,
  TrafficSplitControl,
} from '../failover/index.js';
import type { EventsInterceptor, ServerEventsInterceptor } from '../grpc/index.js';
import type { Election, ScheduledJob, SqlScheduler } from '../jobs/index.js';
import type { Authorizer, TokenService } from '../jwt/index.js';
import type { Locker } from '../lock/index.js';
import type { DualWriter, Fixer, PhaseStore, Validator } from '../migrator/index.js';
import type { IdempotentHandler, Outbox, Queue } from '../mq/index.js';
import type { Decision, RateLimiter } from '../ratelimit/index.js';
import type { RegistryBackend } from '../registry/index.js';
import type {
  AsyncFallbackSms,
  CodeService,
  SmsProvider,
  SmsQueueWorker,
  TokenAuthSms,
} from '../sms/index.js';
import { type BalancerBlockKind, balancerKindOf } from './watch-balancer.js';
import { type GrpcBlockKind, grpcKindOf } from './watch-grpc.js';
import { type JobsBlockKind, jobsKindOf } from './watch-jobs.js';
import { type MigratorBlockKind, migratorKindOf } from './watch-migrator.js';
import { mqKindOf } from './watch-mq.js';
import { type OutboxBlockKind, outboxKindOf } from './watch-outbox.js';
import { type RegistryBlockKind, registryKindOf } from './watch-registry.js';
import { type SmsBlockKind, smsKindOf } from './watch-sms.js';

/**
 * Everything `watch` (of {@link metrics} and {@link tracing}) accepts: any rate or
 * concurrency limiter, a circuit breaker, the object returned by `failover`,
 * `timeoutFailover`, `healthFailover`, `trafficSplit`, `withRetry` or `withDeadline`
 * (recognised by their `events` and `control`), a `retryBudget`, a `tokenService` or an
 * `authorizer`; from girder/jobs, an election (`leaderElection`, `loadAwareElection`), a
 * `scheduledJob` or a `sqlScheduler`; any `Locker` (`memoryLock`, `redisLock`,
 * `etcdLock`); from girder/sms, a provider, `tokenAuthSms`, `codeService`,
 * `asyncFallback` or `smsQueueWorker`; from girder/cache, a cache, counters or a
 * `rankingJob`; a girder/mq queue (`memoryQueue`, `redisStreamsQueue`, `kafkaQueue`),
 * an `outbox` or an `idempotent` handler; from girder/balancer, a picker (plain or
 * `withEjection`) or a `balanced` function; from girder/migrator, a phase store, a
 * `dualWrite`, a `fixer` or a `validator`.
 *
 * @example
 * ```ts
 * import type { WatchableBlock } from 'girder/observability';
 * import { circuitBreaker } from 'girder/breaker';
 *
 * const block: WatchableBlock = circuitBreaker({ name: 'payments' });
 * ```
 */
export type WatchableBlock =
  | RateLimiter<Decision>
  | Breaker
  | RetryBudget
  | TokenService
  | Authorizer
  | Election
  | ScheduledJob
  | SqlScheduler
  | RegistryBackend
  | Locker
  | AsyncFallbackSms
  | SmsQueueWorker
  | SmsProvider
  | TokenAuthSms
  | CodeService
  | Cache<unknown>
  | Counters
  | RankingJob<unknown>
  | Outbox
  | IdempotentHandler
  | Queue
  | BalancerPicker
  | EjectingPicker
  | Balanced<unknown>
  | PhaseStore
  | DualWriter
  | Fixer
  | Validator
  | import('../migrator/index.js').MigrationControl
  | EventsInterceptor
  | ServerEventsInterceptor
  | {
      /** The decorator's typed events. */
      readonly events:
        | EventSource<FailoverEvents>
        | EventSource<RetryEvents>
        | EventSource<DeadlineEvents>;
      /** The decorator's control object. */
      readonly control:
        | FailoverControl
        | TimeoutFailoverControl
        | HealthFailoverControl
        | TrafficSplitControl
        | RetryControl
        | DeadlineControl;
    };

/** @internal The kinds of block girder/observability maps. */
export type BlockKind =
  | 'ratelimit'
  | 'breaker'
  | 'budget'
  | 'tokens'
  | 'authorizer'
  | 'failover'
  | 'timeoutFailover'
  | 'healthFailover'
  | 'split'
  | 'retry'
  | 'deadline'
  | 'lock'
  | SmsBlockKind
  | 'cache'
  | 'ranking'
  | 'counters'
  | JobsBlockKind
  | OutboxBlockKind
  | BalancerBlockKind
  | RegistryBlockKind
  | MigratorBlockKind
  | GrpcBlockKind
  | 'smsQueue'
  | 'queue';

type Bag = Record<string, unknown>;
const isFn = (v: unknown): boolean => typeof v === 'function';
const hasEvents = (b: Bag): boolean => {
  const e = b.events as Bag | undefined;
  return typeof e === 'object' && e !== null && isFn(e.on);
};

/** @internal What `block` is, by its shape; INVALID_ARGUMENT when it is none of them. */
export function kindOf(block: unknown): BlockKind {
  const jobsKind = jobsKindOf(block);
  if (jobsKind !== undefined) return jobsKind;
  const outboxKind = outboxKindOf(block);
  if (outboxKind !== undefined) return outboxKind;
  const mqKind = mqKindOf(block);
  if (mqKind !== undefined) return mqKind;
  const balancerKind = balancerKindOf(block);
  if (balancerKind !== undefined) return balancerKind;
  const registryKind = registryKindOf(block);
  if (registryKind !== undefined) return registryKind;
  const migratorKind = migratorKindOf(block);
  if (migratorKind !== undefined) return migratorKind;
  const grpcKind = grpcKindOf(block);
  if (grpcKind !== undefined) return grpcKind;
  if ((typeof block === 'object' || typeof block === 'function') && block !== null) {
    const b = block as Bag;
    const control = b.control as Bag | undefined;
    if (typeof control === 'object' && control !== null && hasEvents(b)) {
      if (typeof control.attempts === 'number') return 'retry';
      if (typeof control.timeoutMs === 'number') return 'deadline';
      if (isFn(control.setPercent)) return 'split';
      if (isFn(control.health)) return 'healthFailover';
      if (isFn(control.switchTo)) return 'timeoutFailover';
      if (typeof control.targets === 'number') return 'failover';
    }
    if (isFn(b.tryAcquire) && isFn(b.recordCall) && isFn(b.stats)) return 'budget';
    // asyncFallback (send + queue + workers) and smsQueueWorker (queue + runOnce).
    const queue = b.queue as Bag | undefined;
    if (hasEvents(b) && typeof queue === 'object' && queue !== null && isFn(queue.claim)) {
      if ((isFn(b.send) && Array.isArray(b.workers)) || isFn(b.runOnce)) return 'smsQueue';
    }
    if (hasEvents(b)) {
      if (isFn(b.limit) && typeof b.algorithm === 'string') return 'ratelimit';
      if (isFn(b.execute) && isFn(b.isolate) && typeof b.state === 'string') return 'breaker';
      if (isFn(b.verifyAccess) && isFn(b.issue)) return 'tokens';
      if (isFn(b.authorize) || (isFn(b.rolesOf) && isFn(b.grant))) return 'authorizer';
      if (isFn(b.acquire) && isFn(b.using)) return 'lock';
      const sms = smsKindOf(b);
      if (sms !== undefined) return sms;
      if (isFn(b.getOrSet) && isFn(b.deleteByTag)) return 'cache';
      if (isFn(b.refresh) && isFn(b.get) && typeof b.key === 'string') return 'ranking';
      if (isFn(b.incr) && isFn(b.init) && isFn(b.getAll)) return 'counters';
    }
  }
  throw new InvalidArgumentError(
    'block',
    'is not a block girder/observability knows (a limiter, breaker, failover/retry/deadline decorator, retry budget, token service, authorizer, locker, election, scheduled job, SQL scheduler, SMS provider, token-auth SMS, code service, asyncFallback, smsQueueWorker, cache, counters, ranking job, message queue, outbox, idempotent handler, balancer picker, balanced function, migration phase store, dual writer, fixer or validator)',
  );
}

/** @internal The block's own name, when it carries one. */
export function ownName(block: unknown): string | undefined {
  const b = block as Bag;
  if (typeof b.name === 'string' && b.name !== '') return b.name;
  const control = b.control as Bag | undefined;
  if (control && typeof control.name === 'string' && control.name !== '') return control.name;
  return undefined;
}
