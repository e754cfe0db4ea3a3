// Trace context over gRPC: real grpc-js servers and clients on loopback, an
// AsyncLocalStorage context manager and an in-memory span exporter. The client sends
// the caller's context as W3C `traceparent`; the server runs the handler under it; with
// girder/observability tracing the events interceptors, one trace runs
// request span -> client span -> server span -> handler span.
import * as grpc from '@grpc/grpc-js';
import {
  context,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { exponential } from '../../src/core/backoff.js';
import { InvalidArgumentError, InvalidOptionsError } from '../../src/core/index.js';
import {
  eventsInterceptor,
  rateLimitInterceptor,
  retryInterceptor,
  serverEventsInterceptor,
  traceContextInterceptor,
  traceContextServerInterceptor,
  withTraceContext,
} from '../../src/grpc/index.js';
import { tracing } from '../../src/observability/index.js';
import { fixedWindow } from '../../src/ratelimit/index.js';
import { type Client, callWho, WhoClient, whoDefinition } from './fixtures/grpc.js';

const w3c = new W3CTraceContextPropagator();
const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const tracer = provider.getTracer('girder-grpc-trace-test');
const contextManager = new AsyncLocalStorageContextManager();

beforeAll(() => {
  contextManager.enable();
  context.setGlobalContextManager(contextManager);
});
afterAll(async () => {
  context.disable();
  propagation.disable();
  await provider.shutdown();
});

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
  exporter.reset();
});

/** What the handler saw of each call. */
interface Seen {
  traceparent: (string | undefined)[];
  /** The active span context while the handler ran (after an await, too). */
  active: (ReturnType<Span['spanContext']> | undefined)[];
}

type Handler = (call: grpc.ServerUnaryCall<Buffer, Buffer>) => Promise<void>;

async function serve(
  interceptors: grpc.ServerInterceptor[],
  clientInterceptors: grpc.Interceptor[],
  options: { handler?: Handler; failFirst?: number } = {},
): Promise<{ client: Client; seen: Seen }> {
  const seen: Seen = { traceparent: [], active: [] };
  let failures = options.failFirst ?? 0;
  const server = new grpc.Server({ interceptors });
  server.addService(whoDefinition, {
    who: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
      const header = call.metadata.get('traceparent')[0];
      seen.traceparent.push(typeof header === 'string' ? header : undefined);
      const work = async () => {
        await new Promise((resolve) => setImmediate(resolve));
        seen.active.push(trace.getSpanContext(context.active()));
        await options.handler?.(call);
      };
      work().then(
        () => {
          if (failures-- > 0) callback({ code: grpc.status.UNAVAILABLE, details: 'on purpose' });
          else callback(null, Buffer.from('ok'));
        },
        (error: Error) => callback({ code: grpc.status.INTERNAL, details: error.message }),
      );
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  const client = new WhoClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
    interceptors: clientInterceptors,
  });
  cleanups.push(
    () => client.close(),
    () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  );
  return { client, seen };
}

/** Run `fn` inside a new span named `name`; resolves what `fn` resolves, and the span. */
async function inSpan<T>(name: string, fn: () => Promise<T>): Promise<{ result: T; span: Span }> {
  const span = tracer.startSpan(name, { kind: SpanKind.SERVER }, ROOT_CONTEXT);
  try {
    const result = await context.with(trace.setSpan(ROOT_CONTEXT, span), fn);
    return { result, span };
  } finally {
    span.end();
  }
}

const traceparentOf = (span: Span | ReadableSpan) => {
  const { traceId, spanId } = span.spanContext();
  return `00-${traceId}-${spanId}-01`;
};
const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;
const finished = (kind: SpanKind) => exporter.getFinishedSpans().filter((s) => s.kind === kind);

describe('traceContextInterceptor', () => {
  it("sends the caller's active span as W3C traceparent", async () => {
    const { client, seen } = await serve([], [traceContextInterceptor({ propagator: w3c })]);
    const { result, span } = await inSpan('request', () => callWho(client));
    expect(result.id).toBe('ok');
    expect(seen.traceparent).toEqual([traceparentOf(span)]);
  });

  it('sends nothing outside a span, and replaces a traceparent the caller set', async () => {
    const { client, seen } = await serve([], [traceContextInterceptor({ propagator: w3c })]);
    const stale = new grpc.Metadata();
    stale.set('traceparent', '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
    expect((await callWho(client)).id).toBe('ok');
    const { span } = await inSpan('request', () => callWho(client, { metadata: stale }));
    expect(seen.traceparent).toEqual([undefined, traceparentOf(span)]);
  });

  it("uses @opentelemetry/api's global propagator by default (none registered: nothing)", async () => {
    const { client, seen } = await serve([], [traceContextInterceptor()]);
    await inSpan('request', () => callWho(client));
    propagation.setGlobalPropagator(w3c);
    try {
      const { span } = await inSpan('request', () => callWho(client));
      expect(seen.traceparent).toEqual([undefined, traceparentOf(span)]);
    } finally {
      propagation.disable();
    }
  });

  it('rejects a misspelt option and a propagator that is not one', () => {
    expect(() => traceContextInterceptor({ propogator: w3c } as never)).toThrow(
      InvalidOptionsError,
    );
    expect(() => traceContextInterceptor({ propagator: {} as never })).toThrow(InvalidOptionsError);
    expect(() => traceContextServerInterceptor({ nme: 'x' } as never)).toThrow(InvalidOptionsError);
  });
});

describe('traceContextServerInterceptor', () => {
  it("runs the handler under the caller's trace context, across awaits", async () => {
    const { client, seen } = await serve(
      [traceContextServerInterceptor({ propagator: w3c })],
      [traceContextInterceptor({ propagator: w3c })],
    );
    const { span } = await inSpan('request', () => callWho(client));
    expect(seen.active).toHaveLength(1);
    expect(seen.active[0]).toMatchObject({
      traceId: span.spanContext().traceId,
      spanId: span.spanContext().spanId,
      isRemote: true,
    });
  });

  it('still does behind an interceptor that admits the call asynchronously', async () => {
    // The rate limiter decides after a promise: the handler's events wait for it.
    const limiter = fixedWindow({ limit: 100, windowMs: 60_000 });
    const { client, seen } = await serve(
      [traceContextServerInterceptor({ propagator: w3c }), rateLimitInterceptor(limiter)],
      [traceContextInterceptor({ propagator: w3c })],
    );
    const { span } = await inSpan('request', () => callWho(client));
    expect(seen.active[0]?.traceId).toBe(span.spanContext().traceId);
  });

  it('runs a call without trace context under the root context', async () => {
    const { client, seen } = await serve([traceContextServerInterceptor({ propagator: w3c })], []);
    await inSpan('request', () => callWho(client));
    expect(seen.traceparent).toEqual([undefined]);
    expect(seen.active).toEqual([undefined]);
  });
});

describe('withTraceContext', () => {
  it("runs a function under the trace context of a call's metadata", async () => {
    let inside: string | undefined;
    const { client } = await serve([], [traceContextInterceptor({ propagator: w3c })], {
      handler: async (call) => {
        inside = withTraceContext(call, () => trace.getSpanContext(context.active())?.spanId, {
          propagator: w3c,
        });
      },
    });
    const { span } = await inSpan('request', () => callWho(client));
    expect(inside).toBe(span.spanContext().spanId);
  });

  it('refuses what is not a call, and a misspelt option', () => {
    expect(() => withTraceContext({} as never, () => 1)).toThrow(InvalidArgumentError);
    const call = { metadata: new grpc.Metadata() };
    expect(() => withTraceContext(call, 'x' as never)).toThrow(InvalidArgumentError);
    expect(() => withTraceContext(call, () => 1, { propogator: w3c } as never)).toThrow(
      InvalidOptionsError,
    );
    expect(withTraceContext(call, () => trace.getSpanContext(context.active()))).toBeUndefined();
  });
});

describe('one trace across the call, with girder/observability tracing the events interceptors', () => {
  async function tracedPair(options: { failFirst?: number; retry?: boolean } = {}) {
    const t = tracing({ tracer, redis: false });
    cleanups.push(() => t.close());
    const calls = eventsInterceptor({ name: 'who-client' });
    const served = serverEventsInterceptor({ name: 'who-server' });
    t.watch(calls);
    t.watch(served);
    return serve(
      [traceContextServerInterceptor({ propagator: w3c }), served],
      [
        calls,
        traceContextInterceptor({ propagator: w3c }),
        ...(options.retry
          ? [
              retryInterceptor({
                maxAttempts: 3,
                backoff: exponential({ initialMs: 1, maxMs: 5 }),
              }),
            ]
          : []),
      ],
      {
        failFirst: options.failFirst,
        handler: async () => {
          const span = tracer.startSpan('handler.work');
          await new Promise((resolve) => setImmediate(resolve));
          span.end();
        },
      },
    );
  }

  it('request -> client span -> server span -> handler span, one trace id', async () => {
    const { client } = await tracedPair();
    const { result, span: request } = await inSpan('request', () => callWho(client));
    expect(result.id).toBe('ok');
    const [clientSpan] = finished(SpanKind.CLIENT);
    const serverSpans = finished(SpanKind.SERVER).filter((s) => s.name !== 'request');
    const work = exporter.getFinishedSpans().find((s) => s.name === 'handler.work');
    expect(clientSpan?.name).toBe('girder.test.Echo/Who');
    expect(serverSpans).toHaveLength(1);
    const serverSpan = serverSpans[0]!;
    expect(parentOf(clientSpan!)).toBe(request.spanContext().spanId);
    expect(parentOf(serverSpan)).toBe(clientSpan!.spanContext().spanId);
    expect(serverSpan.parentSpanContext?.isRemote).toBe(true);
    expect(parentOf(work!)).toBe(serverSpan.spanContext().spanId);
    const traceIds = new Set(exporter.getFinishedSpans().map((s) => s.spanContext().traceId));
    expect(traceIds).toEqual(new Set([request.spanContext().traceId]));
    expect(serverSpan.attributes).toMatchObject({
      'rpc.system': 'grpc',
      'rpc.service': 'girder.test.Echo',
      'rpc.method': 'Who',
      'rpc.grpc.status_code': grpc.status.OK,
      'girder.name': 'who-server',
    });
    // The client span covers the server span.
    const ms = (t: [number, number]) => t[0] * 1e3 + t[1] / 1e6;
    expect(ms(clientSpan!.startTime)).toBeLessThanOrEqual(ms(serverSpan.startTime));
    expect(ms(clientSpan!.endTime)).toBeGreaterThanOrEqual(ms(serverSpan.endTime));
  });

  it('retried attempts all hang under the one client span; failures are marked', async () => {
    const { client } = await tracedPair({ failFirst: 1, retry: true });
    const { result } = await inSpan('request', () => callWho(client));
    expect(result.id).toBe('ok');
    const clientSpans = finished(SpanKind.CLIENT);
    expect(clientSpans).toHaveLength(1);
    const serverSpans = finished(SpanKind.SERVER).filter((s) => s.name !== 'request');
    expect(serverSpans).toHaveLength(2);
    for (const s of serverSpans) expect(parentOf(s)).toBe(clientSpans[0]!.spanContext().spanId);
    expect(serverSpans.map((s) => s.status.code).sort()).toEqual([
      SpanStatusCode.UNSET,
      SpanStatusCode.ERROR,
    ]);
  });

  it('without the trace context interceptors the server starts a trace of its own', async () => {
    const t = tracing({ tracer, redis: false });
    cleanups.push(() => t.close());
    const calls = eventsInterceptor();
    const served = serverEventsInterceptor();
    t.watch(calls);
    t.watch(served);
    const { client } = await serve([served], [calls]);
    const { span: request } = await inSpan('request', () => callWho(client));
    const [clientSpan] = finished(SpanKind.CLIENT);
    const serverSpan = finished(SpanKind.SERVER).find((s) => s.name !== 'request')!;
    expect(parentOf(clientSpan!)).toBe(request.spanContext().spanId);
    expect(serverSpan.spanContext().traceId).not.toBe(request.spanContext().traceId);
  });
});
