// `tracing()`: OpenTelemetry spans and span events from girder blocks. Spans cover what
// leaves the process (each Redis round trip, each failover attempt); refusals that
// happen in process (breaker rejections, rate-limit denials, retries) become events on
// the caller's active span. With no SDK registered, the API's tracer is a no-op and the
// Redis channel's cost is one `hasSubscribers` read per round trip.
import {
  subscribe as subscribeChannel,
  unsubscribe as unsubscribeChannel,
} from 'node:diagnostics_channel';
import {
  type Attributes,
  context,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { z } from 'zod';
import type { Breaker, BreakerEvents } from '../breaker/index.js';
import { type EventSource, parseOptions } from '../core/index.js';
import {
  REDIS_COMMAND_END,
  REDIS_COMMAND_START,
  type RedisCommandMessage,
} from '../core/redis/runner.js';
import type { DeadlineEvents, FailoverEvents, RetryEvents } from '../failover/index.js';
import type { ScheduledJobEvents, SqlSchedulerEvents } from '../jobs/index.js';
import type { AuthorizerEvents, TokenEvents } from '../jwt/index.js';
import type { LockEvents } from '../lock/index.js';
import type { Queue } from '../mq/index.js';
import type { RateLimiter, RateLimiterEvents } from '../ratelimit/index.js';
import { kindOf, ownName, type WatchableBlock } from './block.js';
import type { WatchOptions } from './metrics.js';
import { subscribe } from './scope.js';
import { type BalancerBlockKind, traceBalancer } from './watch-balancer.js';
import type { CacheEventsRead, RankingEventsRead } from './watch-cache.js';
import { type GrpcBlockKind, traceGrpc } from './watch-grpc.js';
import { traceLock } from './watch-lock.js';
import { type MigratorBlockKind, traceMigrator } from './watch-migrator.js';
import { traceQueue } from './watch-mq.js';
import { type OutboxBlockKind, traceOutbox } from './watch-outbox.js';
import { WatchSet } from './watch-set.js';
import { type SmsBlockKind, traceSms } from './watch-sms.js';

/**
 * Options of {@link tracing}.
 *
 * @example
 * ```ts
 * import { trace } from '@opentelemetry/api';
 * import type { TracingOptions } from 'girder/observability';
 *
 * const options: TracingOptions = { tracer: trace.getTracer('shop'), redis: false };
 * ```
 */
export interface TracingOptions {
  /** The tracer spans are started with, e.g. `trace.getTracer('shop')` from `@opentelemetry/api`. */
  tracer: Tracer;
  /**
   * Trace every Redis round trip of every girder block (limiters, session stores...) in
   * this process with a `db.system: redis` client span. Default `true`.
   */
  redis?: boolean;
}

/**
 * OpenTelemetry tracing for girder blocks. Create one with {@link tracing}.
 *
 * @example
 * ```ts
 * import { trace } from '@opentelemetry/api';
 * import { type Tracing, tracing } from 'girder/observability';
 *
 * await using t: Tracing = tracing({ tracer: trace.getTracer('shop') });
 * ```
 */
export interface Tracing extends AsyncDisposable {
  /** The tracer passed in. */
  readonly tracer: Tracer;
  /**
   * Turn `block`'s events into spans and span events until the returned function is
   * called. Watching the same block under the same name again does not trace it twice.
   *
   * @throws InvalidArgumentError when `block` is not a block girder knows.
   */
  watch(block: WatchableBlock, options?: WatchOptions): () => void;
  /** Stop every watch and the Redis subscription. */
  close(): void;
}

const schema = z.strictObject({
  tracer: z.custom<Tracer>(
    (v) =>
      typeof v === 'object' &&
      v !== null &&
      typeof (v as Tracer).startSpan === 'function' &&
      typeof (v as Tracer).startActiveSpan === 'function',
    { message: 'must be an OpenTelemetry Tracer' },
  ),
  redis: z.boolean().default(true),
});

const watchSchema = z.strictObject({ name: z.string().min(1).max(200).optional() });

const event = (name: string, attributes: Attributes): void => {
  trace.getActiveSpan()?.addEvent(name, attributes);
};

const messageOf = (error: unknown): string =>
  error instanceof Error ? error.message : String(error);

function fail(span: Span, error: unknown): void {
  if (error instanceof Error) span.recordException(error);
  span.setStatus({ code: SpanStatusCode.ERROR, message: messageOf(error) });
}

/**
 * Trace girder blocks with an OpenTelemetry tracer (see `docs/observability.md` for the
 * span list):
 *
 * - a `CLIENT` span per Redis round trip of any girder block in the process
 *   (`db.system: redis`), child of the caller's active span;
 * - a `girder.failover.attempt` span per failover attempt (child of the caller's span,
 *   naming its target), with error status when the target failed;
 * - span events on the caller's active span for breaker rejections and state changes,
 *   rate-limit denials, retries, deadlines and token refusals.
 *
 * Parent/child links follow the active context, so register a context manager (the
 * OTel Node SDK does).
 *
 * @throws InvalidOptionsError naming each bad option.
 *
 * @example
 * ```ts
 * import { trace } from '@opentelemetry/api';
 * import { circuitBreaker } from 'girder/breaker';
 * import { tracing } from 'girder/observability';
 *
 * const t = tracing({ tracer: trace.getTracer('shop') });
 * const untrace = t.watch(circuitBreaker({ name: 'payments' }));
 * // ...
 * untrace();
 * t.close();
 * ```
 */
export function tracing(options: TracingOptions): Tracing {
  const o = parseOptions('tracing', schema, options);
  const tracer = o.tracer;
  const watches = new WatchSet();
  let closed = false;

  const slot = Symbol('girder.tracing.span');
  const onStart = (message: unknown) => {
    const m = message as RedisCommandMessage;
    const attributes: Attributes = {
      'db.system': 'redis',
      'db.system.name': 'redis',
      'db.operation.name': m.command,
      'girder.redis.runner': m.runner,
    };
    m[slot] = tracer.startSpan(m.command, { kind: SpanKind.CLIENT, attributes }, context.active());
  };
  const onEnd = (message: unknown) => {
    const m = message as RedisCommandMessage;
    const span = m[slot] as Span | undefined;
    if (span === undefined) return;
    m[slot] = undefined;
    if (m.error !== undefined) fail(span, m.error);
    span.end();
  };
  if (o.redis) {
    subscribeChannel(REDIS_COMMAND_START, onStart);
    subscribeChannel(REDIS_COMMAND_END, onEnd);
  }

  // A job run, reported when it ends: one span back-dated to its start (jobs run from
  // timers, so there is no caller span to hang events on).
  const runSpan = (
    spanName: string,
    durationMs: number,
    result: string,
    error: unknown,
    attributes: Attributes,
  ) => {
    const endTime = performance.timeOrigin + performance.now();
    const span = tracer.startSpan(spanName, {
      kind: SpanKind.INTERNAL,
      startTime: endTime - durationMs,
      attributes,
    });
    if (result !== 'ok') fail(span, error ?? new Error(result));
    span.end(endTime);
  };

  const start = (block: WatchableBlock, name: string): (() => void) => {
    const b = block as unknown as { events: EventSource<never> };
    const named = { 'girder.name': name };
    switch (kindOf(block)) {
      case 'ratelimit':
        return subscribe((block as RateLimiter).events, {
          decision: (e: RateLimiterEvents['decision']) => {
            if (!e.decision.allowed) {
              event('girder.ratelimit.denied', {
                ...named,
                'girder.ratelimit.retry_after_ms': e.decision.retryAfterMs,
                'girder.ratelimit.source': e.source,
              });
            }
          },
          fallback: (e: RateLimiterEvents['fallback']) =>
            event('girder.ratelimit.fallback', { ...named, 'girder.ratelimit.mode': e.mode }),
        });
      case 'breaker':
        return subscribe((block as Breaker).events, {
          rejected: (e: BreakerEvents['rejected']) =>
            event('girder.breaker.rejected', {
              ...named,
              'girder.breaker.reason': e.reason,
              'girder.breaker.state': e.state,
            }),
          stateChange: (e: BreakerEvents['stateChange']) =>
            event('girder.breaker.state_change', {
              ...named,
              'girder.breaker.from': e.from,
              'girder.breaker.to': e.to,
              'girder.breaker.reason': e.reason,
            }),
        });
      case 'failover':
      case 'timeoutFailover':
      case 'healthFailover':
        return subscribe(b.events as EventSource<FailoverEvents>, {
          attempt: (e: FailoverEvents['attempt']) => {
            const endTime = performance.timeOrigin + performance.now();
            const span = tracer.startSpan(
              'girder.failover.attempt',
              {
                kind: SpanKind.INTERNAL,
                startTime: endTime - e.durationMs,
                attributes: {
                  ...named,
                  'girder.failover.method': e.method,
                  'girder.failover.target': e.index,
                  'girder.failover.attempt': e.attempt,
                },
              },
              context.active(),
            );
            if (!e.ok) fail(span, e.error);
            span.end(endTime);
          },
          switch: (e: FailoverEvents['switch']) =>
            event('girder.failover.switch', {
              ...named,
              'girder.failover.from': e.from,
              'girder.failover.to': e.to,
              'girder.failover.reason': e.reason,
            }),
          giveUp: (e: FailoverEvents['giveUp']) =>
            event('girder.failover.give_up', { ...named, 'girder.failover.method': e.method }),
        });
      case 'retry':
        return subscribe(b.events as EventSource<RetryEvents>, {
          retry: (e: RetryEvents['retry']) =>
            event('girder.retry', {
              ...named,
              'girder.retry.attempt': e.attempt,
              'girder.retry.delay_ms': e.delayMs,
              'girder.retry.error': messageOf(e.error),
            }),
          giveUp: (e: RetryEvents['giveUp']) =>
            event('girder.retry.give_up', {
              ...named,
              'girder.retry.attempts': e.attempts,
              'girder.retry.reason': e.reason,
            }),
        });
      case 'deadline':
        return subscribe(b.events as EventSource<DeadlineEvents>, {
          timeout: (e: DeadlineEvents['timeout']) =>
            event('girder.deadline.timeout', {
              ...named,
              'girder.deadline.timeout_ms': e.timeoutMs,
            }),
        });
      case 'split':
        return subscribe(b.events as EventSource<FailoverEvents>, {
          route: (e: FailoverEvents['route']) =>
            trace.getActiveSpan()?.setAttribute('girder.split.to', e.to),
        });
      case 'tokens':
        return subscribe(b.events as EventSource<TokenEvents>, {
          rejected: (e: TokenEvents['rejected']) =>
            event('girder.jwt.rejected', {
              ...named,
              'girder.jwt.operation': e.operation,
              'girder.jwt.code': e.code,
            }),
          reuseDetected: () => event('girder.jwt.reuse_detected', named),
        });
      case 'authorizer':
        return subscribe(b.events as EventSource<AuthorizerEvents>, {
          decision: (e: AuthorizerEvents['decision']) => {
            if (!e.allowed)
              event('girder.authz.denied', { ...named, 'girder.authz.action': e.action });
          },
        });
      case 'scheduledJob':
        return subscribe(b.events as EventSource<ScheduledJobEvents>, {
          finished: (e: ScheduledJobEvents['finished']) =>
            runSpan('girder.job.run', e.durationMs, e.result, e.error, {
              ...named,
              'girder.job.result': e.result,
              'girder.job.attempts': e.attempts,
            }),
        });
      case 'sqlScheduler':
        return subscribe(b.events as EventSource<SqlSchedulerEvents>, {
          finished: (e: SqlSchedulerEvents['finished']) =>
            runSpan('girder.sql_job.run', e.durationMs, e.result, e.error, {
              ...named,
              'girder.job.name': e.job,
              'girder.job.result': e.result,
            }),
        });
      case 'lock':
        return traceLock(tracer, b.events as EventSource<LockEvents>, named, event);
      case 'outbox':
      case 'idempotent':
        return traceOutbox(tracer, kindOf(block) as OutboxBlockKind, b.events, name);
      case 'phaseStore':
      case 'dualWrite':
      case 'fixer':
      case 'validator':
      case 'migrationControl':
        return traceMigrator(tracer, kindOf(block) as MigratorBlockKind, b.events, name);
      case 'queue':
        return traceQueue(tracer, block as Queue, name);
      case 'smsProvider':
      case 'smsTokenAuth':
      case 'codes':
        return traceSms(tracer, kindOf(block) as SmsBlockKind, b.events, name);
      case 'picker':
      case 'balanced':
        return traceBalancer(tracer, kindOf(block) as BalancerBlockKind, b.events, name);
      case 'grpcClient':
      case 'grpcServer':
        return traceGrpc(tracer, kindOf(block) as GrpcBlockKind, b.events, name);
      case 'cache': {
        // A loader call becomes a span back-dated to its start (the event comes at its end).
        const loadSpan = (e: CacheEventsRead['load'] & { key?: string; error?: unknown }) => {
          const endTime = performance.timeOrigin + performance.now();
          const span = tracer.startSpan(
            'girder.cache.load',
            {
              kind: SpanKind.INTERNAL,
              startTime: endTime - e.durationMs,
              attributes: {
                ...named,
                'girder.cache.key': e.key ?? '',
                'girder.cache.outcome': e.outcome,
                'girder.cache.background': e.background,
              },
            },
            context.active(),
          );
          if (e.outcome === 'error') span.setStatus({ code: SpanStatusCode.ERROR });
          span.end(endTime);
        };
        return subscribe(b.events as EventSource<CacheEventsRead>, {
          load: loadSpan,
          stale: (e: CacheEventsRead['stale']) =>
            event('girder.cache.stale', {
              ...named,
              'girder.cache.layer': e.layer,
              'girder.cache.reason': e.reason,
            }),
          flushed: (e: CacheEventsRead['flushed']) =>
            event('girder.cache.flushed', {
              ...named,
              'girder.cache.reason': e.reason,
              'girder.cache.entries': e.entries,
            }),
        });
      }
      case 'ranking': {
        const runSpan = (e: { durationMs: number; stage?: string; error?: unknown }) => {
          const endTime = performance.timeOrigin + performance.now();
          const span = tracer.startSpan(
            'girder.ranking.compute',
            { kind: SpanKind.INTERNAL, startTime: endTime - e.durationMs, attributes: named },
            context.active(),
          );
          if (e.stage !== undefined) {
            span.setAttribute('girder.ranking.failed_stage', e.stage);
            fail(span, e.error);
          }
          span.end(endTime);
        };
        return subscribe(b.events as EventSource<RankingEventsRead>, {
          computed: runSpan,
          failed: runSpan,
        });
      }
      default:
        // A retry budget has no events: nothing to trace.
        return () => {};
    }
  };

  const close = () => {
    if (closed) return;
    closed = true;
    watches.clear();
    if (o.redis) {
      unsubscribeChannel(REDIS_COMMAND_START, onStart);
      unsubscribeChannel(REDIS_COMMAND_END, onEnd);
    }
  };

  return {
    tracer,
    watch(block, watchOptions) {
      const w = parseOptions('watch', watchSchema, watchOptions ?? {});
      const kind = kindOf(block);
      const name = w.name ?? ownName(block) ?? kind;
      return watches.add(block, name, () => start(block, name));
    },
    close,
    async [Symbol.asyncDispose]() {
      close();
    },
  };
}
