import {
  InterceptingCall,
  type Interceptor,
  type InterceptorOptions,
  Metadata,
  type StatusObject,
  status,
} from '@grpc/grpc-js';
import { z } from 'zod';
import { type Breaker, BrokenCircuitError } from '../breaker/index.js';
import {
  AbortedError,
  type Clock,
  clockSchema,
  type EventSource,
  InvalidArgumentError,
  parseOptions,
  systemClock,
  TypedEmitter,
} from '../core/index.js';
import { type CallStart, emitStart } from './call-scope.js';
import { markRefusal, type RefusedBy, refusalOf } from './refusals.js';

const codeList = z.array(z.nativeEnum(status)).min(1);

/** Statuses a breaker counts as failures unless told otherwise: the server or the path is unwell. */
export const DEFAULT_BREAKER_FAILURE_CODES: readonly status[] = Object.freeze([
  status.UNAVAILABLE,
  status.DEADLINE_EXCEEDED,
  status.RESOURCE_EXHAUSTED,
  status.INTERNAL,
  status.UNKNOWN,
  status.DATA_LOSS,
]);

/** Options of {@link breakerInterceptor}. */
export interface BreakerInterceptorOptions {
  /** Statuses that count as failures. Default {@link DEFAULT_BREAKER_FAILURE_CODES}; every other status is a success, `CANCELLED` by the caller is ignored. */
  failOn?: readonly status[];
  /** Name of this interceptor, for logs. */
  name?: string;
}

class StatusError extends Error {
  constructor(readonly code: status) {
    super(`grpc status ${status[code]}`);
  }
}

/**
 * A client interceptor that runs every call through a girder/breaker {@link Breaker}:
 * admission is decided before the call starts, the outcome is recorded when the status
 * arrives. A refused call fails at once with `UNAVAILABLE` (no network traffic); a call
 * the caller cancels counts neither way.
 *
 * @example
 * ```ts
 * import { circuitBreaker, consecutiveFailures } from 'girder/breaker';
 * import { breakerInterceptor } from 'girder/grpc';
 *
 * const breaker = circuitBreaker({ policy: consecutiveFailures({ threshold: 5 }), openMs: 10_000 });
 * const client = new UserClient(target, creds, { interceptors: [breakerInterceptor(breaker)] });
 * ```
 */
export function breakerInterceptor(
  breaker: Breaker,
  options: BreakerInterceptorOptions = {},
): Interceptor {
  const parsed = parseOptions(
    'breakerInterceptor',
    z.strictObject({ failOn: codeList.optional(), name: z.string().min(1).max(200).optional() }),
    options,
  );
  if (typeof breaker?.execute !== 'function') {
    throw new InvalidArgumentError('breaker', 'must be a girder/breaker Breaker');
  }
  const failOn = new Set(parsed.failOn ?? DEFAULT_BREAKER_FAILURE_CODES);
  return (callOptions: InterceptorOptions, nextCall) => {
    const cancelled = new AbortController();
    return new InterceptingCall(nextCall(callOptions), {
      start(metadata, listener, next) {
        let settle: ((s: StatusObject) => void) | undefined;
        breaker
          .execute(
            () =>
              new Promise<void>((resolve, reject) => {
                settle = (s) => {
                  if (cancelled.signal.aborted) reject(new AbortedError(cancelled.signal.reason));
                  else if (failOn.has(s.code)) reject(new StatusError(s.code));
                  else resolve();
                };
                next(metadata, {
                  onReceiveStatus(s, nextStatus) {
                    settle?.(s);
                    nextStatus(s);
                  },
                });
              }),
            cancelled.signal,
          )
          .catch((error: unknown) => {
            if (error instanceof BrokenCircuitError) {
              listener.onReceiveStatus(
                markRefusal(
                  { code: status.UNAVAILABLE, details: error.message, metadata: new Metadata() },
                  'breaker',
                ),
              );
            } else if (error instanceof AbortedError && settle === undefined) {
              listener.onReceiveStatus({
                code: status.CANCELLED,
                details: 'cancelled by the caller',
                metadata: new Metadata(),
              });
            }
            // Other rejections are the call's own status, already delivered.
          });
      },
      cancel(next) {
        cancelled.abort();
        next();
      },
    });
  };
}

/** Options of {@link deadlineInterceptor}. */
export interface DeadlineInterceptorOptions {
  /** Deadline given to calls made without one, in milliseconds from the start (1 ms to 1 day). */
  timeoutMs: number;
  /** Time source. Default `systemClock`. */
  clock?: Clock;
  /** Name of this interceptor, for logs. */
  name?: string;
}

/**
 * A client interceptor giving every call that has no deadline one `timeoutMs` from now,
 * so no call can hang forever. A deadline the caller set is kept as is.
 *
 * @example
 * ```ts
 * import { deadlineInterceptor } from 'girder/grpc';
 *
 * const client = new UserClient(target, creds, {
 *   interceptors: [deadlineInterceptor({ timeoutMs: 2_000 })],
 * });
 * ```
 */
export function deadlineInterceptor(options: DeadlineInterceptorOptions): Interceptor {
  const { timeoutMs, clock } = parseOptions(
    'deadlineInterceptor',
    z.strictObject({
      timeoutMs: z.number().finite().positive().max(86_400_000),
      clock: clockSchema.default(systemClock),
      name: z.string().min(1).max(200).optional(),
    }),
    options,
  );
  return (callOptions, nextCall) => {
    const deadline = callOptions.deadline;
    const unset = deadline === undefined || deadline === Number.POSITIVE_INFINITY;
    return new InterceptingCall(
      nextCall(unset ? { ...callOptions, deadline: clock.now() + timeoutMs } : callOptions),
    );
  };
}

/** One finished client call, as {@link eventsInterceptor} reports it. */
export interface ClientCallEvent {
  /** Full method path, e.g. `/pkg.Service/Method`. */
  readonly method: string;
  /** Final status code. */
  readonly code: status;
  /** Status name, e.g. `UNAVAILABLE`. */
  readonly codeName: string;
  /** Milliseconds from start to status. */
  readonly durationMs: number;
  /** `'breaker'` when a {@link breakerInterceptor} refused the call (it never left the process). */
  readonly refusedBy?: RefusedBy;
  /** This call's `start` event, when `start` had listeners as the call began. */
  readonly started?: CallStart;
}

/** Events of {@link eventsInterceptor}. */
export type ClientCallEvents = {
  /** A call is starting (emitted only when listened to); a listener may scope the rest of it. */
  start: CallStart;
  /** A call ended (any status). */
  call: ClientCallEvent;
};

/** A client interceptor that also carries the call events it emits. */
export type EventsInterceptor = Interceptor & {
  /** `call` events, one per finished call. */
  readonly events: EventSource<ClientCallEvents>;
  /** Always `'client'`: how girder/observability tells it from a server interceptor. */
  readonly side: 'client';
};

/** Options of {@link eventsInterceptor}. */
export interface EventsInterceptorOptions {
  /** Time source for durations. Default `systemClock`. */
  clock?: Clock;
  /** Name of this interceptor: its `name` property, the `name` label of its metrics. */
  name?: string;
}

/**
 * A client interceptor emitting a `call` event (method, status, duration) when each call
 * ends, for metrics and tracing. Put it first in the list so it sees what the caller
 * sees, retries and breaker refusals included. With `start` listeners it also emits
 * `start` as each call begins; girder/observability's tracing uses it to start the call's
 * span there and run the rest of the call under it, so a {@link traceContextInterceptor}
 * after this one sends that span as the parent.
 *
 * @example
 * ```ts
 * import { eventsInterceptor } from 'girder/grpc';
 *
 * const calls = eventsInterceptor();
 * calls.events.on('call', (e) => histogram.observe({ method: e.method, code: e.codeName }, e.durationMs));
 * const client = new UserClient(target, creds, { interceptors: [calls] });
 * ```
 */
export function eventsInterceptor(options: EventsInterceptorOptions = {}): EventsInterceptor {
  const { clock, name } = parseOptions(
    'eventsInterceptor',
    z.strictObject({
      clock: clockSchema.default(systemClock),
      name: z.string().min(1).max(200).optional(),
    }),
    options,
  );
  const events = new TypedEmitter<ClientCallEvents>();
  const interceptor: Interceptor = (callOptions, nextCall) => {
    const method = callOptions.method_definition.path;
    return new InterceptingCall(nextCall(callOptions), {
      start(metadata, _listener, next) {
        const startedAt = clock.now();
        const { started, scope } = events.has('start')
          ? emitStart(events, method, metadata)
          : { started: undefined, scope: undefined };
        const go = () =>
          next(metadata, {
            onReceiveStatus(s, nextStatus) {
              events.emit('call', {
                method,
                code: s.code,
                codeName: status[s.code] ?? String(s.code),
                durationMs: clock.now() - startedAt,
                refusedBy: refusalOf(s),
                ...(started && { started }),
              });
              nextStatus(s);
            },
          });
        if (scope) scope(go);
        else go();
      },
    });
  };
  // `name` (the option, or empty) is what girder/observability labels its series with.
  Object.defineProperty(interceptor, 'name', { value: name ?? '' });
  return Object.assign(interceptor, { events, side: 'client' as const });
}
