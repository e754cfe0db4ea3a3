// W3C trace context over gRPC metadata: the client interceptor writes the caller's
// active OpenTelemetry context (`traceparent`, `tracestate`, and baggage when the
// propagator carries it) into each call's metadata; the server interceptor reads it back
// and runs the rest of the call, handler included, with it active. The propagator is
// @opentelemetry/api's global one unless given: an SDK's `register()` sets it to W3C
// trace context and baggage, and without an SDK it is a no-op.
import {
  InterceptingCall,
  type Interceptor,
  type Metadata,
  ServerInterceptingCall,
  type ServerInterceptor,
} from '@grpc/grpc-js';
import {
  type Context,
  context,
  propagation,
  ROOT_CONTEXT,
  type TextMapGetter,
  type TextMapPropagator,
  type TextMapSetter,
} from '@opentelemetry/api';
import { z } from 'zod';
import { InvalidArgumentError, parseOptions } from '../core/index.js';

/** Options of {@link traceContextInterceptor} and {@link traceContextServerInterceptor}. */
export interface TraceContextOptions {
  /**
   * How the context is written to and read from metadata, e.g. `new W3CTraceContextPropagator()`
   * from `@opentelemetry/core`. Default: `@opentelemetry/api`'s global propagator
   * (`propagation`), which an OpenTelemetry SDK's `register()` sets to W3C trace context
   * plus baggage; with no SDK registered it carries nothing.
   */
  propagator?: TextMapPropagator;
  /** Name of this interceptor, for logs. */
  name?: string;
}

const schema = z.strictObject({
  propagator: z
    .custom<TextMapPropagator>(
      (v) =>
        typeof v === 'object' &&
        v !== null &&
        typeof (v as TextMapPropagator).inject === 'function' &&
        typeof (v as TextMapPropagator).extract === 'function',
      { message: 'must be an OpenTelemetry TextMapPropagator (inject, extract)' },
    )
    .optional(),
  name: z.string().min(1).max(200).optional(),
});

/** Writes propagation fields as metadata entries (keys are lower case, as W3C's are). */
const metadataSetter: TextMapSetter<Metadata> = {
  set(metadata, key, value) {
    metadata.set(key.toLowerCase(), value);
  },
};

/** Reads propagation fields from metadata: text entries only (`-bin` keys are binary). */
const metadataGetter: TextMapGetter<Metadata> = {
  keys: (metadata) => Object.keys(metadata.getMap()),
  get(metadata, key) {
    const values = metadata
      .get(key.toLowerCase())
      .filter((v): v is string => typeof v === 'string');
    if (values.length === 0) return undefined;
    return values.length === 1 ? values[0] : values;
  },
};

/**
 * A client interceptor sending the caller's active OpenTelemetry context with every call
 * (W3C `traceparent` / `tracestate` in the metadata, through the propagator), so the
 * server's spans join the caller's trace. Place it right after an
 * {@link eventsInterceptor} that girder/observability traces: the call then carries the
 * client span as the parent. Entries the caller set under the same keys are replaced.
 *
 * @example
 * ```ts
 * import { eventsInterceptor, traceContextInterceptor } from 'girder/grpc';
 * import { tracing } from 'girder/observability';
 *
 * const calls = eventsInterceptor({ name: 'users-client' });
 * tracing({ tracer }).watch(calls); // one CLIENT span per call
 * const client = new UserClient(target, creds, {
 *   interceptors: [calls, traceContextInterceptor()],
 * });
 * ```
 */
export function traceContextInterceptor(options: TraceContextOptions = {}): Interceptor {
  const { propagator } = parseOptions('traceContextInterceptor', schema, options);
  const propagate = propagator ?? propagation;
  return (callOptions, nextCall) =>
    new InterceptingCall(nextCall(callOptions), {
      start(metadata, listener, next) {
        propagate.inject(context.active(), metadata, metadataSetter);
        next(metadata, listener);
      },
    });
}

/**
 * A server interceptor reading the trace context a caller sent in the metadata (see
 * {@link traceContextInterceptor}) and running the rest of the call with it active: the
 * interceptors after this one and the handler, so the spans they start join the caller's
 * trace. Calls without one run under the root context (the handler starts a new trace),
 * never under whatever context the connection happened to carry. Place it first, before
 * a {@link serverEventsInterceptor}, whose span then becomes the caller's child.
 *
 * @example
 * ```ts
 * import * as grpc from '@grpc/grpc-js';
 * import { serverEventsInterceptor, traceContextServerInterceptor } from 'girder/grpc';
 *
 * const served = serverEventsInterceptor({ name: 'users-server' });
 * tracing({ tracer }).watch(served); // one SERVER span per call, under the caller's
 * const server = new grpc.Server({ interceptors: [traceContextServerInterceptor(), served] });
 * ```
 */
export function traceContextServerInterceptor(
  options: TraceContextOptions = {},
): ServerInterceptor {
  const { propagator } = parseOptions('traceContextServerInterceptor', schema, options);
  const propagate = propagator ?? propagation;
  return (_descriptor, call) => {
    let active: Context = ROOT_CONTEXT;
    return new ServerInterceptingCall(call, {
      start(next) {
        next({
          onReceiveMetadata(metadata, nextMetadata) {
            active = propagate.extract(ROOT_CONTEXT, metadata, metadataGetter);
            context.with(active, () => nextMetadata(metadata));
          },
          onReceiveMessage(message, nextMessage) {
            context.with(active, () => nextMessage(message));
          },
          onReceiveHalfClose(nextHalfClose) {
            context.with(active, nextHalfClose);
          },
        });
      },
    });
  };
}

/**
 * Run `fn` with the trace context `call`'s metadata carries active: for a handler on a
 * server without {@link traceContextServerInterceptor}, or for work a handler starts
 * outside its own async flow (a stream's events). Without a trace context in the
 * metadata `fn` runs under the root context.
 *
 * @example
 * ```ts
 * import { withTraceContext } from 'girder/grpc';
 *
 * server.addService(UsersService, {
 *   get: (call, callback) => withTraceContext(call, () => users.get(call.request.id)).then(
 *     (user) => callback(null, user),
 *     (error) => callback(error),
 *   ),
 * });
 * ```
 */
export function withTraceContext<T>(
  call: { readonly metadata: Metadata },
  fn: () => T,
  options: TraceContextOptions = {},
): T {
  const { propagator } = parseOptions('withTraceContext', schema, options);
  const propagate = propagator ?? propagation;
  const metadata = call?.metadata;
  if (typeof metadata?.get !== 'function' || typeof metadata.getMap !== 'function') {
    throw new InvalidArgumentError('call', 'must be a grpc-js server call (with metadata)');
  }
  if (typeof fn !== 'function') throw new InvalidArgumentError('fn', 'must be a function');
  return context.with(propagate.extract(ROOT_CONTEXT, metadata, metadataGetter), fn);
}
