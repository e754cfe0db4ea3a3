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
import type { Bag } from './shape.js';
import { type BalancerBlockKind, balancerKindOf } from './watch-balancer.js';
import { breakerKindOf } from './watch-breaker.js';
import { type CacheBlockKind, cacheKindOf } from './watch-cache.js';
import { type FailoverBlockKind, failoverKindOf } from './watch-failover.js';
import { type GrpcBlockKind, grpcKindOf } from './watch-grpc.js';
import { type JobsBlockKind, jobsKindOf } from './watch-jobs.js';
import { type JwtBlockKind, jwtKindOf } from './watch-jwt.js';
import { lockKindOf } from './watch-lock.js';
import { type MigratorBlockKind, migratorKindOf } from './watch-migrator.js';
import { mqKindOf } from './watch-mq.js';
import { type OutboxBlockKind, outboxKindOf } from './watch-outbox.js';
import { ratelimitKindOf } from './watch-ratelimit.js';
import { type RegistryBlockKind, registryKindOf } from './watch-registry.js';
import { type SmsBlockKind, smsKindOf } from './watch-sms.js';
import { smsQueueKindOf } from './watch-sms-queue.js';

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
  | JwtBlockKind
  | FailoverBlockKind
  | 'lock'
  | SmsBlockKind
  | CacheBlockKind
  | JobsBlockKind
  | OutboxBlockKind
  | BalancerBlockKind
  | RegistryBlockKind
  | MigratorBlockKind
  | GrpcBlockKind
  | 'smsQueue'
  | 'queue';

/**
 * Each module's recogniser, asked in this order; the first that knows the block names
 * its kind. The order matters only where shapes overlap (an smsQueue block also has
 * `send`, so it is asked before the SMS providers).
 */
const RECOGNISERS: readonly ((block: unknown) => BlockKind | undefined)[] = [
  jobsKindOf,
  outboxKindOf,
  mqKindOf,
  balancerKindOf,
  registryKindOf,
  migratorKindOf,
  grpcKindOf,
  failoverKindOf,
  smsQueueKindOf,
  ratelimitKindOf,
  breakerKindOf,
  jwtKindOf,
  lockKindOf,
  smsKindOf,
  cacheKindOf,
];

/** @internal What `block` is, by its shape; INVALID_ARGUMENT when it is none of them. */
export function kindOf(block: unknown): BlockKind {
  for (const recognise of RECOGNISERS) {
    const kind = recognise(block);
    if (kind !== undefined) return kind;
  }
  throw new InvalidArgumentError(
    'block',
    'is not a block girder/observability knows (a limiter, breaker, failover/retry/deadline decorator, retry budget, token service, authorizer, locker, election, scheduled job, SQL scheduler, SMS provider, token-auth SMS, code service, asyncFallback, smsQueueWorker, cache, counters, ranking job, message queue, outbox, idempotent handler, balancer picker, balanced function, migration phase store, dual writer, fixer, validator, migration control or gRPC events interceptor)',
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
