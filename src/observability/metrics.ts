// `metrics()`: girder blocks to Prometheus series in a registry the caller owns.
import type { Registry } from 'prom-client';
import { z } from 'zod';
import type { BalancedEvents } from '../balancer/index.js';
import type { Breaker } from '../breaker/index.js';
import { type EventSource, InvalidArgumentError, parseOptions } from '../core/index.js';
import type {
  DeadlineEvents,
  FailoverEvents,
  RetryBudget,
  RetryEvents,
  TrafficSplitControl,
} from '../failover/index.js';
import type { Election, ScheduledJob, SqlScheduler } from '../jobs/index.js';
import type { AuthorizerEvents, TokenEvents } from '../jwt/index.js';
import type { LockEvents } from '../lock/index.js';
import type { Queue } from '../mq/index.js';
import type { Decision, RateLimiter } from '../ratelimit/index.js';
import type { RegistryBackend } from '../registry/index.js';
import { kindOf, ownName, type WatchableBlock } from './block.js';
import { Scope } from './scope.js';
import type { Tracing } from './tracing.js';
import { type PickerBlock, watchBalanced, watchPicker } from './watch-balancer.js';
import { watchBreaker } from './watch-breaker.js';
import {
  type CacheEventsRead,
  type CounterEventsRead,
  type RankingEventsRead,
  watchCache,
  watchCounters,
  watchRanking,
} from './watch-cache.js';
import {
  watchBudget,
  watchDeadline,
  watchFailover,
  watchRetry,
  watchSplit,
} from './watch-failover.js';
import { watchGrpc } from './watch-grpc.js';
import { watchElection, watchScheduledJob, watchSqlScheduler } from './watch-jobs.js';
import { watchAuthorizer, watchTokens } from './watch-jwt.js';
import { watchLock } from './watch-lock.js';
import { watchMigratorBlock } from './watch-migrator.js';
import { watchQueue } from './watch-mq.js';
import { watchOutboxBlock } from './watch-outbox.js';
import { watchLimiter } from './watch-ratelimit.js';
import { watchRegistry } from './watch-registry.js';
import { WatchSet } from './watch-set.js';
import { watchSms } from './watch-sms.js';
import { type SmsQueueBlock, watchSmsQueue } from './watch-sms-queue.js';

/**
 * Default buckets of girder's duration histograms, in seconds (1 ms to 10 s): the OTel
 * advisory buckets of `http.server.request.duration` with 1 ms and 2.5 ms added below.
 *
 * @example
 * ```ts
 * import { Registry } from 'prom-client';
 * import { DEFAULT_DURATION_BUCKETS, metrics } from 'girder/observability';
 *
 * const m = metrics({ registry: new Registry(), buckets: [0.0005, ...DEFAULT_DURATION_BUCKETS] });
 * ```
 */
export const DEFAULT_DURATION_BUCKETS: readonly number[] = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10,
];

/**
 * Options of {@link metrics}.
 *
 * @example
 * ```ts
 * import { Registry } from 'prom-client';
 * import type { MetricsOptions } from 'girder/observability';
 *
 * const options: MetricsOptions = { registry: new Registry(), prefix: 'shop_', constLabels: { region: 'eu' } };
 * ```
 */
export interface MetricsOptions {
  /** The prom-client registry every series goes to. girder never uses the global default one. */
  registry: Registry;
  /** Prefix of every girder metric name (not of the `http_server_*` ones). Default `girder_`. */
  prefix?: string;
  /** Buckets of girder's duration histograms, seconds, increasing. Default {@link DEFAULT_DURATION_BUCKETS}. */
  buckets?: number[];
  /** Labels added to every series (e.g. `{ service: 'shop' }`). Default none. */
  constLabels?: Record<string, string>;
}

/**
 * Options of {@link Metrics.watch} and {@link Tracing.watch}.
 *
 * @example
 * ```ts
 * import { Registry } from 'prom-client';
 * import { metrics } from 'girder/observability';
 * import { tokenBucket } from 'girder/ratelimit';
 *
 * metrics({ registry: new Registry() }).watch(tokenBucket({ capacity: 10, refillPerSec: 1 }), { name: 'smtp' });
 * ```
 */
export interface WatchOptions {
  /** The `name` label of the block's series. Default: the block's own `name`, else its kind. */
  name?: string;
}

/**
 * Prometheus metrics for girder blocks. Create one with {@link metrics}.
 *
 * @example
 * ```ts
 * import { Registry } from 'prom-client';
 * import { circuitBreaker } from 'girder/breaker';
 * import { type Metrics, metrics } from 'girder/observability';
 *
 * const m: Metrics = metrics({ registry: new Registry() });
 * const unwatch = m.watch(circuitBreaker({ name: 'payments' }));
 * unwatch();
 * ```
 */
export interface Metrics {
  /** The registry passed in. */
  readonly registry: Registry;
  /** The metric name prefix. */
  readonly prefix: string;
  /** The duration histogram buckets, seconds. */
  readonly buckets: readonly number[];
  /** The labels added to every series. */
  readonly constLabels: Readonly<Record<string, string>>;
  /**
   * Count `block`'s events into this registry until the returned function is called.
   * Watching the same block under the same name again — through this object or another
   * `metrics()` with the same registry, prefix and `constLabels` — does not count twice;
   * counting stops when every returned function has been called.
   *
   * @throws InvalidArgumentError when `block` is not a block girder knows, or `name` is empty.
   */
  watch(block: WatchableBlock, options?: WatchOptions): () => void;
}

const labelName = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const RESERVED = new Set([
  'name',
  'kind',
  'outcome',
  'state',
  'from',
  'to',
  'reason',
  'mode',
  'target',
  'le',
  'layer',
  'result',
  'background',
  'op',
  'result',
  'job',
  'status',
]);

const schema = z.strictObject({
  registry: z.custom<Registry>(
    (v) =>
      typeof v === 'object' &&
      v !== null &&
      typeof (v as Registry).getSingleMetric === 'function' &&
      typeof (v as Registry).registerMetric === 'function',
    { message: 'must be a prom-client Registry' },
  ),
  prefix: z
    .string()
    .regex(/^([a-zA-Z_:][a-zA-Z0-9_:]*)?$/, 'must be a valid Prometheus metric name prefix')
    .default('girder_'),
  buckets: z
    .array(z.number().finite().positive())
    .min(1)
    .refine((b) => b.every((v, i) => i === 0 || v > b[i - 1]!), 'must be increasing')
    .optional(),
  constLabels: z
    .record(
      z
        .string()
        .regex(labelName, 'must be a valid label name')
        .refine((k) => !RESERVED.has(k) && !k.startsWith('__'), 'is a label girder sets itself'),
      z.string(),
    )
    .default({}),
});

const watchSchema = z.strictObject({ name: z.string().min(1).max(200).optional() });

// One watch set per (registry, prefix, constLabels): two metrics() over the same series
// share it, so watching a block through both still counts it once.
const watchSets = new WeakMap<Registry, Map<string, WatchSet>>();

function watchSetOf(registry: Registry, prefix: string, constLabels: Record<string, string>) {
  let byKey = watchSets.get(registry);
  if (byKey === undefined) {
    byKey = new Map();
    watchSets.set(registry, byKey);
  }
  const key = JSON.stringify([prefix, Object.entries(constLabels).sort()]);
  let set = byKey.get(key);
  if (set === undefined) {
    set = new WatchSet();
    byKey.set(key, set);
  }
  return set;
}

/**
 * Count girder blocks' events as Prometheus metrics in `registry` (see
 * `docs/observability.md` for every series). Asking for a metric twice (two `metrics()`
 * on one registry, two blocks of one kind) returns the one already registered, so
 * prom-client's "already registered" error cannot happen through girder; two registries
 * never share a series.
 *
 * Counters are counted in process and added to prom-client on each scrape, so the hot
 * path pays one addition and a scrape is always exact.
 *
 * @throws InvalidOptionsError naming each bad option.
 *
 * @example
 * ```ts
 * import { Registry } from 'prom-client';
 * import { circuitBreaker } from 'girder/breaker';
 * import { metrics } from 'girder/observability';
 * import { fixedWindow } from 'girder/ratelimit';
 *
 * const registry = new Registry();
 * const m = metrics({ registry, constLabels: { service: 'shop' } });
 * const unwatch = m.watch(fixedWindow({ limit: 100, windowMs: 60_000, name: 'api' }));
 * m.watch(circuitBreaker({ name: 'payments' }));
 * console.log(await registry.metrics());
 * unwatch();
 * ```
 */
export function metrics(options: MetricsOptions): Metrics {
  const o = parseOptions('metrics', schema, options);
  const buckets = o.buckets ?? DEFAULT_DURATION_BUCKETS;
  const constLabels = Object.freeze({ ...o.constLabels });
  const watches = watchSetOf(o.registry, o.prefix, constLabels);

  const start = (block: WatchableBlock, name: string): (() => void) => {
    const kind = kindOf(block);
    const scope = new Scope(o.registry, o.prefix, buckets, constLabels, name);
    const b = block as unknown as { events: EventSource<never>; control: unknown };
    switch (kind) {
      case 'ratelimit':
        return watchLimiter(scope, block as RateLimiter<Decision>);
      case 'breaker':
        return watchBreaker(scope, block as Breaker);
      case 'budget':
        return watchBudget(scope, block as RetryBudget);
      case 'tokens':
        return watchTokens(scope, b.events as EventSource<TokenEvents>);
      case 'authorizer':
        return watchAuthorizer(scope, b.events as EventSource<AuthorizerEvents>);
      case 'retry':
        return watchRetry(scope, b.events as EventSource<RetryEvents>);
      case 'deadline':
        return watchDeadline(scope, b.events as EventSource<DeadlineEvents>);
      case 'registry':
        return watchRegistry(scope, block as RegistryBackend);
      case 'election':
        return watchElection(scope, block as Election);
      case 'scheduledJob':
        return watchScheduledJob(scope, block as ScheduledJob);
      case 'sqlScheduler':
        return watchSqlScheduler(scope, block as SqlScheduler);
      case 'lock':
        return watchLock(scope, b.events as EventSource<LockEvents>);
      case 'outbox':
      case 'idempotent':
        return watchOutboxBlock(scope, kind, block);
      case 'phaseStore':
      case 'dualWrite':
      case 'fixer':
      case 'validator':
      case 'migrationControl':
        return watchMigratorBlock(scope, kind, block);
      case 'smsQueue':
        return watchSmsQueue(scope, block as unknown as SmsQueueBlock);
      case 'smsProvider':
      case 'smsTokenAuth':
      case 'codes':
        return watchSms(scope, kind, b.events);
      case 'split':
        return watchSplit(
          scope,
          b.events as EventSource<FailoverEvents>,
          b.control as TrafficSplitControl,
        );
      case 'cache':
        return watchCache(scope, b.events as EventSource<CacheEventsRead>);
      case 'ranking':
        return watchRanking(scope, b.events as EventSource<RankingEventsRead>);
      case 'counters':
        return watchCounters(scope, b.events as EventSource<CounterEventsRead>);
      case 'queue':
        return watchQueue(scope, block as Queue);
      case 'picker':
        return watchPicker(scope, block as unknown as PickerBlock);
      case 'balanced':
        return watchBalanced(scope, b.events as EventSource<BalancedEvents>);
      case 'grpcClient':
      case 'grpcServer':
        return watchGrpc(scope, kind, b.events);
      default:
        return watchFailover(scope, b.events as EventSource<FailoverEvents>, b.control);
    }
  };

  return {
    registry: o.registry,
    prefix: o.prefix,
    buckets,
    constLabels,
    watch(block, watchOptions) {
      const w = parseOptions('watch', watchSchema, watchOptions ?? {});
      const kind = kindOf(block);
      const name = w.name ?? ownName(block) ?? kind;
      return watches.add(block, name, () => start(block, name));
    },
  };
}

/** @internal Used by the HTTP recorders: the prom-client registry and labels of a {@link Metrics}. */
export function checkMetrics(value: unknown, field: string): Metrics {
  const m = value as Partial<Metrics> | undefined;
  if (
    typeof m !== 'object' ||
    m === null ||
    typeof m.watch !== 'function' ||
    typeof m.registry !== 'object'
  ) {
    throw new InvalidArgumentError(field, 'must be the object metrics() returns');
  }
  return m as Metrics;
}
