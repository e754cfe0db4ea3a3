// Metrics and spans of girder/grpc's events interceptors, named after the OpenTelemetry
// RPC semantic conventions: `rpc.client.duration` / `rpc.server.duration` histograms
// (as `rpc_client_duration_seconds` / `rpc_server_duration_seconds`, like the HTTP
// recorders' `http_server_request_duration_seconds`) labelled `rpc_system="grpc"`,
// `rpc_service`, `rpc_method` and `rpc_grpc_status_code`, plus counters of the calls a
// girder interceptor refused (breaker on the client; rate limit, auth, degradation on the
// server), and one back-dated span per call.
import {
  type Attributes,
  context,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import type { EventSource } from '../core/index.js';
import type { CallStart, ClientCallEvents, ServerCallEvents } from '../grpc/index.js';
import type { Labels } from './families.js';
import { histogram } from './families.js';
import type { HistogramCell } from './histogram.js';
import { cellsBy, type Scope, subscribe } from './scope.js';

/** @internal The girder/grpc kinds of block: the client and server events interceptors. */
export type GrpcBlockKind = 'grpcClient' | 'grpcServer';

type Bag = Record<string, unknown>;

/** @internal Which girder/grpc block `block` is (`eventsInterceptor`, `serverEventsInterceptor`), if any. */
export function grpcKindOf(block: unknown): GrpcBlockKind | undefined {
  if (typeof block !== 'function') return undefined;
  const b = block as unknown as Bag;
  const events = b.events as Bag | undefined;
  if (typeof events !== 'object' || events === null || typeof events.on !== 'function') {
    return undefined;
  }
  if (b.side === 'client') return 'grpcClient';
  if (b.side === 'server') return 'grpcServer';
  return undefined;
}

/** The parts of a call the conventions name: `/pkg.Service/Method` → service, method. */
interface RpcName {
  readonly service: string;
  readonly method: string;
}

const names = new Map<string, RpcName>();

/** @internal Split a gRPC path (cached: a service has few methods). */
export function rpcNameOf(path: string): RpcName {
  let name = names.get(path);
  if (name === undefined) {
    const slash = path.lastIndexOf('/');
    name =
      slash > 0
        ? {
            service: path.slice(path.startsWith('/') ? 1 : 0, slash),
            method: path.slice(slash + 1),
          }
        : { service: '', method: path.replace(/^\//, '') };
    if (names.size < 10_000) names.set(path, name);
  }
  return name;
}

type CallEvent = ClientCallEvents['call'] | ServerCallEvents['call'];

/**
 * @internal Map an events interceptor to `rpc_<side>_duration_seconds` and
 * `<prefix>grpc_<side>_refused_total{refused_by}`.
 */
export function watchGrpc(
  scope: Scope,
  kind: GrpcBlockKind,
  events: EventSource<ClientCallEvents | ServerCallEvents>,
): () => void {
  const side = kind === 'grpcClient' ? 'client' : 'server';
  const rpcLabels = ['rpc_system', 'rpc_service', 'rpc_method', 'rpc_grpc_status_code'];
  const duration = histogram(
    scope.registry,
    `rpc_${side}_duration_seconds`,
    `Duration of gRPC ${side} calls, seconds (OpenTelemetry rpc.${side}.duration).`,
    [...Object.keys(scope.base), ...rpcLabels],
    scope.buckets,
  );
  const refused = cellsBy(
    scope.counter(
      `grpc_${side}_refused_total`,
      side === 'client'
        ? 'gRPC client calls refused before leaving the process, by refusing interceptor (breaker).'
        : 'gRPC server calls refused before their handler ran, by refusing interceptor (rateLimit, auth, degradation).',
      ['rpc_service', 'rpc_method', 'refused_by'],
    ),
  );
  const cells = new Map<string, HistogramCell>();
  return subscribe(events as EventSource<{ call: CallEvent }>, {
    call: (e: CallEvent) => {
      const key = `${e.method} ${e.code}`;
      let cell = cells.get(key);
      if (cell === undefined) {
        const { service, method } = rpcNameOf(e.method);
        const labels: Labels = scope.labels({
          rpc_system: 'grpc',
          rpc_service: service,
          rpc_method: method,
          rpc_grpc_status_code: String(e.code),
        });
        cell = duration.cell(labels);
        cells.set(key, cell);
      }
      duration.observe(cell, e.durationMs / 1000);
      if (e.refusedBy !== undefined) {
        const by = e.refusedBy;
        refused(`${e.method} ${by}`, () => {
          const { service, method } = rpcNameOf(e.method);
          return { rpc_service: service, rpc_method: method, refused_by: by };
        }).value++;
      }
    },
  });
}

// Server-side statuses that the conventions count as the server's error; every other
// status is the client's business (a refused token, a missing row) and leaves the span unset.
const SERVER_ERRORS = new Set([2, 4, 12, 13, 14, 15]); // UNKNOWN, DEADLINE_EXCEEDED, UNIMPLEMENTED, INTERNAL, UNAVAILABLE, DATA_LOSS

/**
 * @internal Trace an events interceptor: one span per call, named `<service>/<method>`,
 * kind CLIENT or SERVER, with the conventions' `rpc.*` attributes and
 * `girder.grpc.refused_by` for a refusal. The span starts with the call (`start`) under
 * the active context (the caller's span; on a server, the trace context a
 * `traceContextServerInterceptor` extracted) and the rest of the call runs under it, so
 * a `traceContextInterceptor` sends it as the parent and a handler's spans nest in it. A
 * call whose start this watch did not see gets a span back-dated to its start.
 */
export function traceGrpc(
  tracer: Tracer,
  kind: GrpcBlockKind,
  events: EventSource<ClientCallEvents | ServerCallEvents>,
  name: string,
): () => void {
  const client = kind === 'grpcClient';
  const spanKind = client ? SpanKind.CLIENT : SpanKind.SERVER;
  const open = new WeakMap<CallStart, Span>();
  const attributesOf = (path: string): Attributes => {
    const { service, method } = rpcNameOf(path);
    return {
      'girder.name': name,
      'rpc.system': 'grpc',
      'rpc.service': service,
      'rpc.method': method,
    };
  };
  return subscribe(events as EventSource<{ start: CallStart; call: CallEvent }>, {
    start: (e: CallStart) => {
      const { service, method } = rpcNameOf(e.method);
      const span = tracer.startSpan(
        `${service}/${method}`,
        { kind: spanKind, attributes: attributesOf(e.method) },
        context.active(),
      );
      open.set(e, span);
      const active = trace.setSpan(context.active(), span);
      e.runIn((fn) => context.with(active, fn));
    },
    call: (e: CallEvent) => {
      const endTime = performance.timeOrigin + performance.now();
      let span = e.started && open.get(e.started);
      if (e.started) open.delete(e.started);
      if (span === undefined) {
        const { service, method } = rpcNameOf(e.method);
        span = tracer.startSpan(
          `${service}/${method}`,
          { kind: spanKind, startTime: endTime - e.durationMs, attributes: attributesOf(e.method) },
          context.active(),
        );
      }
      span.setAttribute('rpc.grpc.status_code', e.code);
      if (e.refusedBy !== undefined) span.setAttribute('girder.grpc.refused_by', e.refusedBy);
      if (client ? e.code !== 0 : SERVER_ERRORS.has(e.code)) {
        span.setStatus({ code: SpanStatusCode.ERROR, message: e.codeName });
      }
      span.end(endTime);
    },
  });
}
