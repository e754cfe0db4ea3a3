import {
  Metadata,
  ServerInterceptingCall,
  type ServerInterceptingCallInterface,
  type ServerInterceptor,
  type ServerListener,
  type StatusObject,
  status,
} from '@grpc/grpc-js';
import { z } from 'zod';
import {
  type Clock,
  clockSchema,
  type EventSource,
  functionSchema,
  InvalidArgumentError,
  parseOptions,
  systemClock,
  TypedEmitter,
} from '../core/index.js';
import type { AccessClaims } from '../jwt/index.js';
import type { Logger } from '../logger/index.js';
import type { Decision, RateLimiter } from '../ratelimit/index.js';
import { type CallScope, type CallStart, emitStart } from './call-scope.js';
import { markRefusal, type RefusedBy, refusalOf } from './refusals.js';
import { grpcStatusOf } from './status-map.js';

/** What a server interceptor knows about an incoming call before its handler runs. */
export interface ServerCallInfo {
  /** Full method path, e.g. `/pkg.Service/Method`. */
  readonly method: string;
  /** The request metadata (headers). */
  readonly metadata: Metadata;
  /** The peer address, e.g. `ipv4:127.0.0.1:51234`. */
  readonly peer: string;
}

const nameSchema = z.string().min(1).max(200).optional();

function refuse(
  call: ServerInterceptingCallInterface,
  code: status,
  details: string,
  trailers = new Metadata(),
): void {
  call.sendStatus({ code, details, metadata: trailers });
}

/**
 * Build a server interceptor that decides, once the request metadata has arrived,
 * whether the call may reach its handler. `decide` resolves to `undefined` to admit the
 * call, or to the status to end it with.
 */
function admissionInterceptor(
  by: RefusedBy,
  decide: (info: ServerCallInfo) => Promise<StatusObject | undefined> | StatusObject | undefined,
): ServerInterceptor {
  return (descriptor, call) =>
    new ServerInterceptingCall(call, {
      start(next) {
        next({
          onReceiveMetadata(metadata, nextMetadata) {
            const info = { method: descriptor.path, metadata, peer: call.getPeer() };
            Promise.resolve()
              .then(() => decide(info))
              .then(
                (refusal) => {
                  if (refusal === undefined) nextMetadata(metadata);
                  else call.sendStatus(markRefusal(refusal, by));
                },
                (error: unknown) =>
                  refuse(call, grpcStatusOf(error), 'the call could not be admitted'),
              );
          },
        });
      },
    });
}

/** Options of {@link rateLimitInterceptor}. */
export interface RateLimitInterceptorOptions {
  /** The limiter key of a call. Default: the method path (one quota per method). */
  key?: (call: ServerCallInfo) => string;
  /** Name of this interceptor, for logs. */
  name?: string;
}

/**
 * A server interceptor charging each call to a girder/ratelimit limiter before its
 * handler runs. A denied call ends with `RESOURCE_EXHAUSTED` and a `retry-after-ms`
 * trailer; a limiter that fails (its store is down and it has no fallback) ends the call
 * with the status of its error, `UNAVAILABLE` for `STORE_UNAVAILABLE`.
 *
 * @example
 * ```ts
 * import { slidingWindow } from 'girder/ratelimit';
 * import { rateLimitInterceptor } from 'girder/grpc';
 *
 * const limiter = slidingWindow({ limit: 100, windowMs: 1_000 });
 * const server = new grpc.Server({
 *   interceptors: [rateLimitInterceptor(limiter, { key: (c) => c.metadata.get('x-tenant')[0]?.toString() ?? c.peer })],
 * });
 * ```
 */
export function rateLimitInterceptor(
  limiter: RateLimiter<Decision>,
  options: RateLimitInterceptorOptions = {},
): ServerInterceptor {
  const { key } = parseOptions(
    'rateLimitInterceptor',
    z.strictObject({
      key: functionSchema<(call: ServerCallInfo) => string>().optional(),
      name: nameSchema,
    }),
    options,
  );
  if (typeof limiter?.limit !== 'function') {
    throw new InvalidArgumentError('limiter', 'must be a girder/ratelimit limiter');
  }
  return admissionInterceptor('rateLimit', async (info) => {
    const decision = await limiter.limit(key ? key(info) : info.method);
    if (decision.allowed) return undefined;
    const trailers = new Metadata();
    trailers.set('retry-after-ms', String(Math.ceil(decision.retryAfterMs)));
    return { code: status.RESOURCE_EXHAUSTED, details: 'rate limit exceeded', metadata: trailers };
  });
}

/** Anything with girder/jwt's `verifyAccess`, such as a `TokenService`. */
export interface AccessVerifier {
  /** Verify an access token; resolve with its claims or reject with an `AuthError`. */
  verifyAccess(token: string): Promise<AccessClaims>;
}

const claimsByMetadata = new WeakMap<Metadata, AccessClaims>();

/**
 * The claims {@link authInterceptor} verified for this call, read from the handler's
 * `call` (anything with the call's `metadata`); `undefined` when the call did not pass
 * through it.
 *
 * @example
 * ```ts
 * import { authClaimsOf } from 'girder/grpc';
 *
 * server.addService(UserService, {
 *   getUser(call, callback) {
 *     const claims = authClaimsOf(call); // { sub, ssid, ... }
 *     callback(null, { id: claims?.sub });
 *   },
 * });
 * ```
 */
export function authClaimsOf(call: { readonly metadata: Metadata }): AccessClaims | undefined {
  return call?.metadata instanceof Metadata ? claimsByMetadata.get(call.metadata) : undefined;
}

/** Options of {@link authInterceptor}. */
export interface AuthInterceptorOptions {
  /** Methods (full paths) that need no token, e.g. the health check. Default none. */
  publicMethods?: readonly string[];
  /** Name of this interceptor, for logs. */
  name?: string;
}

const BEARER = /^Bearer\s+(\S+)$/i;

/**
 * A server interceptor verifying the `authorization: Bearer <token>` metadata with
 * girder/jwt's `verifyAccess` before the handler runs. A missing or refused token ends
 * the call with `UNAUTHENTICATED` (`PERMISSION_DENIED` for a banned subject,
 * `UNAVAILABLE` when the session store is down); the details never say which check
 * failed. Handlers read the verified claims with {@link authClaimsOf}.
 *
 * @example
 * ```ts
 * import { authClaimsOf, authInterceptor } from 'girder/grpc';
 *
 * const server = new grpc.Server({
 *   interceptors: [authInterceptor(tokens, { publicMethods: ['/grpc.health.v1.Health/Check'] })],
 * });
 * ```
 */
export function authInterceptor(
  verifier: AccessVerifier,
  options: AuthInterceptorOptions = {},
): ServerInterceptor {
  const { publicMethods } = parseOptions(
    'authInterceptor',
    z.strictObject({ publicMethods: z.array(z.string().min(1)).optional(), name: nameSchema }),
    options,
  );
  if (typeof verifier?.verifyAccess !== 'function') {
    throw new InvalidArgumentError(
      'verifier',
      'must have verifyAccess (a girder/jwt TokenService)',
    );
  }
  const open = new Set(publicMethods ?? []);
  return admissionInterceptor('auth', async ({ method, metadata }) => {
    if (open.has(method)) return undefined;
    const header = metadata.get('authorization')[0];
    const token = typeof header === 'string' ? BEARER.exec(header)?.[1] : undefined;
    if (token === undefined) {
      return { code: status.UNAUTHENTICATED, details: 'Unauthorized', metadata: new Metadata() };
    }
    try {
      claimsByMetadata.set(metadata, await verifier.verifyAccess(token));
      return undefined;
    } catch (error) {
      const code = grpcStatusOf(error);
      const details =
        code === status.UNAVAILABLE
          ? 'Service Unavailable'
          : code === status.PERMISSION_DENIED
            ? 'Forbidden'
            : 'Unauthorized';
      return {
        code: code === status.UNKNOWN ? status.UNAUTHENTICATED : code,
        details,
        metadata: new Metadata(),
      };
    }
  });
}

/** Options of {@link degradationInterceptor}. */
export interface DegradationInterceptorOptions {
  /** Metadata key holding a call's priority. Default `x-priority`. */
  priority?: string;
  /** Priorities shed while `shedWhen()` is true. Default `['low']`. */
  shedPriorities?: readonly string[];
  /** Priority of a call without the metadata key. Default `normal`. */
  defaultPriority?: string;
  /** True while the server should shed, e.g. `() => breaker.state === 'open'`. Called once per call. */
  shedWhen: () => boolean;
  /** Name of this interceptor, for logs. */
  name?: string;
}

/**
 * A server interceptor shedding low-priority calls with `UNAVAILABLE` while
 * `shedWhen()` says the server is in trouble (a dependency's breaker is open, a limiter
 * is near its limit, the event loop lags). Other calls pass untouched.
 *
 * @example
 * ```ts
 * import { degradationInterceptor } from 'girder/grpc';
 *
 * const shed = degradationInterceptor({
 *   priority: 'x-priority',
 *   shedWhen: () => paymentsBreaker.state !== 'closed',
 * });
 * const server = new grpc.Server({ interceptors: [shed] });
 * ```
 */
export function degradationInterceptor(options: DegradationInterceptorOptions): ServerInterceptor {
  const { priority, shedPriorities, defaultPriority, shedWhen } = parseOptions(
    'degradationInterceptor',
    z.strictObject({
      priority: z.string().min(1).max(200).default('x-priority'),
      shedPriorities: z.array(z.string().min(1)).default(['low']),
      defaultPriority: z.string().min(1).default('normal'),
      shedWhen: functionSchema<() => boolean>(),
      name: nameSchema,
    }),
    options,
  );
  const shedSet = new Set(shedPriorities);
  const key = priority.toLowerCase();
  return admissionInterceptor('degradation', ({ metadata }) => {
    const value = metadata.get(key)[0];
    const callPriority = typeof value === 'string' ? value : defaultPriority;
    if (!shedSet.has(callPriority) || !shedWhen()) return undefined;
    return {
      code: status.UNAVAILABLE,
      details: 'shed: the server is degraded',
      metadata: new Metadata(),
    };
  });
}

/** One finished server call, as {@link serverEventsInterceptor} reports it. */
export interface ServerCallEvent {
  /** Full method path. */
  readonly method: string;
  /** Final status code. */
  readonly code: status;
  /** Status name, e.g. `RESOURCE_EXHAUSTED`. */
  readonly codeName: string;
  /** Milliseconds from the call's arrival to its status. */
  readonly durationMs: number;
  /** The peer address. */
  readonly peer: string;
  /** Set when a girder interceptor refused the call before its handler ran. */
  readonly refusedBy?: RefusedBy;
  /** This call's `start` event, when `start` had listeners as its metadata arrived. */
  readonly started?: CallStart;
}

/** Events of {@link serverEventsInterceptor}. */
export type ServerCallEvents = {
  /** A call's metadata arrived (emitted only when listened to); a listener may scope the rest of it. */
  start: CallStart;
  /** A call ended (any status, refusals by later interceptors included). */
  call: ServerCallEvent;
};

/** A server interceptor that also carries the call events it emits. */
export type ServerEventsInterceptor = ServerInterceptor & {
  /** `call` events, one per finished call. */
  readonly events: EventSource<ServerCallEvents>;
  /** Always `'server'`: how girder/observability tells it from a client interceptor. */
  readonly side: 'server';
};

/** Options of {@link serverEventsInterceptor} and {@link loggingInterceptor}. */
export interface ServerEventsInterceptorOptions {
  /** Time source for durations. Default `systemClock`. */
  clock?: Clock;
  /** Name of this interceptor, for logs. */
  name?: string;
}

const eventsSchema = z.strictObject({
  clock: clockSchema.default(systemClock),
  name: nameSchema,
});

function observing(
  clock: Clock,
  onEnd: (event: ServerCallEvent) => void,
  starts?: TypedEmitter<ServerCallEvents>,
): ServerInterceptor {
  return (descriptor, call) => {
    const startedAt = clock.now();
    let started: CallStart | undefined;
    let scope: CallScope | undefined;
    // Only with `start` listeners: the rest of the call, handler included, in their scope.
    const start = starts?.has('start')
      ? (next: (listener: ServerListener) => void) =>
          next({
            onReceiveMetadata(metadata, nextMetadata) {
              ({ started, scope } = emitStart(starts, descriptor.path, metadata));
              if (scope) scope(() => nextMetadata(metadata));
              else nextMetadata(metadata);
            },
            onReceiveMessage(message, nextMessage) {
              if (scope) scope(() => nextMessage(message));
              else nextMessage(message);
            },
            onReceiveHalfClose(nextHalfClose) {
              if (scope) scope(nextHalfClose);
              else nextHalfClose();
            },
          })
      : undefined;
    return new ServerInterceptingCall(call, {
      ...(start && { start }),
      sendStatus(s, next) {
        onEnd({
          method: descriptor.path,
          code: s.code,
          codeName: status[s.code] ?? String(s.code),
          durationMs: clock.now() - startedAt,
          peer: call.getPeer(),
          refusedBy: refusalOf(s),
          ...(started && { started }),
        });
        next(s);
      },
    });
  };
}

/**
 * A server interceptor emitting a `call` event (method, status, duration, peer) as each
 * call ends, for metrics and tracing. Put it first (after a
 * {@link traceContextServerInterceptor}) so it sees the refusals of the interceptors after
 * it. With `start` listeners it also emits `start` as each call's metadata arrives; girder/observability's tracing
 * starts the call's span there and runs the handler under it.
 *
 * @example
 * ```ts
 * import { serverEventsInterceptor } from 'girder/grpc';
 *
 * const calls = serverEventsInterceptor();
 * calls.events.on('call', (e) => histogram.observe({ method: e.method, code: e.codeName }, e.durationMs));
 * const server = new grpc.Server({ interceptors: [calls] });
 * ```
 */
export function serverEventsInterceptor(
  options: ServerEventsInterceptorOptions = {},
): ServerEventsInterceptor {
  const { clock, name } = parseOptions('serverEventsInterceptor', eventsSchema, options);
  const events = new TypedEmitter<ServerCallEvents>();
  const interceptor = observing(clock, (e) => events.emit('call', e), events);
  // `name` (the option, or empty) is what girder/observability labels its series with.
  Object.defineProperty(interceptor, 'name', { value: name ?? '' });
  return Object.assign(interceptor, { events, side: 'server' as const });
}

/**
 * A server interceptor writing one girder/logger entry per finished call: `debug` for
 * `OK`, `warn` for refusals and client-side errors, `error` for `INTERNAL`, `UNKNOWN`
 * and `DATA_LOSS`. Fields: `method`, `code`, `durationMs`, `peer`.
 *
 * @example
 * ```ts
 * import { consoleLogger } from 'girder/logger';
 * import { loggingInterceptor } from 'girder/grpc';
 *
 * const server = new grpc.Server({ interceptors: [loggingInterceptor(consoleLogger())] });
 * ```
 */
export function loggingInterceptor(
  logger: Logger,
  options: ServerEventsInterceptorOptions = {},
): ServerInterceptor {
  const { clock } = parseOptions('loggingInterceptor', eventsSchema, options);
  if (typeof logger?.warn !== 'function') {
    throw new InvalidArgumentError('logger', 'must be a girder/logger Logger');
  }
  return observing(clock, (e) => {
    const fields = { method: e.method, code: e.codeName, durationMs: e.durationMs, peer: e.peer };
    if (e.code === status.OK) logger.debug('grpc call', fields);
    else if (SERVER_FAULTS.has(e.code)) logger.error('grpc call failed', fields);
    else logger.warn('grpc call failed', fields);
  });
}

const SERVER_FAULTS = new Set<status>([status.INTERNAL, status.UNKNOWN, status.DATA_LOSS]);
