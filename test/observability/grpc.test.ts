// girder/grpc in girder/observability: real in-process grpc-js servers and clients with
// the events interceptors first; exact counts of rpc_{client,server}_duration_seconds by
// status, of refused calls by refusing interceptor, and one span per call.
import * as grpc from '@grpc/grpc-js';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { Registry } from 'prom-client';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { circuitBreaker } from '../../src/breaker/index.js';
import {
  breakerInterceptor,
  degradationInterceptor,
  eventsInterceptor,
  rateLimitInterceptor,
  serverEventsInterceptor,
} from '../../src/grpc/index.js';
import { metrics, tracing } from '../../src/observability/index.js';
import { fixedWindow } from '../../src/ratelimit/index.js';
import { type Client, callWho, WhoClient, whoDefinition } from '../grpc/fixtures/grpc.js';
import { series } from './helpers.js';

const exporter = new InMemorySpanExporter();
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const tracer = provider.getTracer('girder-grpc-test');
afterAll(() => provider.shutdown());

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
  exporter.reset();
});

/** A server (its interceptors given) whose handler fails with `failWith` when set. */
async function serve(
  interceptors: grpc.ServerInterceptor[],
  clientInterceptors: grpc.Interceptor[],
): Promise<{ client: Client; state: { failWith?: grpc.status } }> {
  const state: { failWith?: grpc.status } = {};
  const server = new grpc.Server({ interceptors });
  server.addService(whoDefinition, {
    who: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
      if (state.failWith !== undefined) callback({ code: state.failWith, details: 'on purpose' });
      else callback(null, Buffer.from('ok'));
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
  return { client, state };
}

const low = () => {
  const md = new grpc.Metadata();
  md.set('x-priority', 'low');
  return md;
};

const rpc = 'rpc_method=Who,rpc_service=girder.test.Echo,rpc_system=grpc';

describe('metrics: grpc interceptors', () => {
  it('durations by status code on both sides, and refusals by interceptor', async () => {
    const registry = new Registry();
    const m = metrics({ registry });
    const serverCalls = serverEventsInterceptor({ name: 'who-server' });
    const clientCalls = eventsInterceptor({ name: 'who-client' });
    const breaker = circuitBreaker();
    let shedding = false;
    m.watch(serverCalls);
    m.watch(clientCalls);
    const { client, state } = await serve(
      [
        serverCalls,
        rateLimitInterceptor(fixedWindow({ limit: 5, windowMs: 600_000 })),
        degradationInterceptor({ shedWhen: () => shedding }),
      ],
      [clientCalls, breakerInterceptor(breaker)],
    );

    expect((await callWho(client)).id).toBe('ok');
    expect((await callWho(client)).id).toBe('ok');
    shedding = true;
    expect((await callWho(client, { metadata: low() })).error?.code).toBe(grpc.status.UNAVAILABLE);
    expect((await callWho(client)).id).toBe('ok'); // normal priority passes while shedding
    state.failWith = grpc.status.UNAVAILABLE; // the handler's own UNAVAILABLE: not a refusal
    expect((await callWho(client)).error?.code).toBe(grpc.status.UNAVAILABLE);
    expect((await callWho(client)).error?.code).toBe(grpc.status.RESOURCE_EXHAUSTED); // 6th > 5
    const isolation = breaker.isolate();
    expect((await callWho(client)).error?.code).toBe(grpc.status.UNAVAILABLE);
    isolation.release();

    expect(await series(registry, 'rpc_server_duration_seconds')).toEqual({
      [`name=who-server,rpc_grpc_status_code=0,${rpc}`]: 3,
      [`name=who-server,rpc_grpc_status_code=14,${rpc}`]: 2,
      [`name=who-server,rpc_grpc_status_code=8,${rpc}`]: 1,
    });
    expect(await series(registry, 'rpc_client_duration_seconds')).toEqual({
      [`name=who-client,rpc_grpc_status_code=0,${rpc}`]: 3,
      [`name=who-client,rpc_grpc_status_code=14,${rpc}`]: 3,
      [`name=who-client,rpc_grpc_status_code=8,${rpc}`]: 1,
    });
    const method = 'rpc_method=Who,rpc_service=girder.test.Echo';
    expect(await series(registry, 'girder_grpc_server_refused_total')).toEqual({
      [`name=who-server,refused_by=degradation,${method}`]: 1,
      [`name=who-server,refused_by=rateLimit,${method}`]: 1,
    });
    expect(await series(registry, 'girder_grpc_client_refused_total')).toEqual({
      [`name=who-client,refused_by=breaker,${method}`]: 1,
    });
  });

  it('an unnamed interceptor is labelled by its kind; plain interceptors are refused', async () => {
    const registry = new Registry();
    const m = metrics({ registry });
    const calls = serverEventsInterceptor();
    m.watch(calls);
    const { client } = await serve([calls], []);
    await callWho(client);
    expect(await series(registry, 'rpc_server_duration_seconds')).toEqual({
      [`name=grpcServer,rpc_grpc_status_code=0,${rpc}`]: 1,
    });
    expect(() => m.watch(breakerInterceptor(circuitBreaker()) as never)).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
  });
});

describe('tracing: grpc interceptors', () => {
  it('one span per call with the rpc.* attributes; error status as the conventions say', async () => {
    const t = tracing({ tracer });
    const serverCalls = serverEventsInterceptor({ name: 'srv' });
    const clientCalls = eventsInterceptor({ name: 'cli' });
    t.watch(serverCalls);
    t.watch(clientCalls);
    const { client, state } = await serve(
      [serverCalls, rateLimitInterceptor(fixedWindow({ limit: 2, windowMs: 600_000 }))],
      [clientCalls],
    );
    await callWho(client); // OK
    state.failWith = grpc.status.INTERNAL;
    await callWho(client); // the server's error
    await callWho(client); // refused by the limiter: the client's problem on the server side
    const spans = exporter.getFinishedSpans();
    expect(spans).toHaveLength(6);
    expect(new Set(spans.map((s) => s.name))).toEqual(new Set(['girder.test.Echo/Who']));
    const side = (kind: SpanKind) =>
      spans
        .filter((s) => s.kind === kind)
        .map((s) => ({
          code: s.attributes['rpc.grpc.status_code'],
          error: s.status.code === SpanStatusCode.ERROR,
          refusedBy: s.attributes['girder.grpc.refused_by'],
          name: s.attributes['girder.name'],
          system: s.attributes['rpc.system'],
          method: s.attributes['rpc.method'],
        }));
    const base = { system: 'grpc', method: 'Who' };
    expect(side(SpanKind.SERVER)).toEqual([
      { ...base, name: 'srv', code: 0, error: false, refusedBy: undefined },
      { ...base, name: 'srv', code: 13, error: true, refusedBy: undefined },
      { ...base, name: 'srv', code: 8, error: false, refusedBy: 'rateLimit' },
    ]);
    expect(side(SpanKind.CLIENT)).toEqual([
      { ...base, name: 'cli', code: 0, error: false, refusedBy: undefined },
      { ...base, name: 'cli', code: 13, error: true, refusedBy: undefined },
      { ...base, name: 'cli', code: 8, error: true, refusedBy: undefined },
    ]);
  });
});
