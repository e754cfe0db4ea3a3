import { SpanStatusCode, trace } from '@opentelemetry/api';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { circuitBreaker, consecutiveFailures } from '../../src/breaker/index.js';
import { manualClock } from '../../src/core/index.js';
import { failover, withRetry } from '../../src/failover/index.js';
import { tracing } from '../../src/observability/index.js';
import { fixedWindow, redisStore } from '../../src/ratelimit/index.js';
import { sharedRedisUrl, uniquePrefix } from '../harness/index.js';

const exporter = new InMemorySpanExporter();
// NodeTracerProvider.register() installs the AsyncLocalStorage context manager, so the
// caller's active span is the parent of what girder starts.
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
provider.register();
const tracer = trace.getTracer('girder-test');

afterEach(() => exporter.reset());
afterAll(() => provider.shutdown());

const finished = (name: string) => exporter.getFinishedSpans().filter((s) => s.name === name);
const parentOf = (span: { parentSpanContext?: { spanId: string } }) =>
  span.parentSpanContext?.spanId;

describe('tracing: failover attempts', () => {
  it('each attempt is a child span of the caller naming its target; a failed one has error status', async () => {
    const t = tracing({ tracer, redis: false });
    const bad = { send: async (_m: string): Promise<string> => Promise.reject(new Error('down')) };
    const ok = { send: async (_m: string) => 'ok' };
    const f = failover([bad, ok], { name: 'sms' });
    t.watch(f);
    await tracer.startActiveSpan('request', async (parent) => {
      await f.send('hi');
      parent.end();
    });
    const [request] = finished('request');
    const attempts = finished('girder.failover.attempt');
    expect(attempts).toHaveLength(2);
    for (const a of attempts) expect(parentOf(a)).toBe(request!.spanContext().spanId);
    expect(attempts.map((a) => a.attributes['girder.failover.target'])).toEqual([0, 1]);
    expect(attempts[0]!.attributes).toMatchObject({
      'girder.name': 'sms',
      'girder.failover.method': 'send',
      'girder.failover.attempt': 1,
    });
    expect(attempts[0]!.status).toMatchObject({ code: SpanStatusCode.ERROR, message: 'down' });
    expect(attempts[1]!.status.code).not.toBe(SpanStatusCode.ERROR);
    const switchEvent = request!.events.find((e) => e.name === 'girder.failover.switch');
    expect(switchEvent?.attributes).toMatchObject({
      'girder.failover.from': 0,
      'girder.failover.to': 1,
    });
    t.close();
  });

  it('after unwatch (or close) no spans are made, and watching twice traces once', async () => {
    const t = tracing({ tracer, redis: false });
    const ok = { send: async (_m: string) => 'ok' };
    const f = failover([ok], { name: 'one' });
    const a = t.watch(f);
    t.watch(f);
    await f.send('x');
    expect(finished('girder.failover.attempt')).toHaveLength(1);
    a();
    t.close();
    await f.send('x');
    expect(finished('girder.failover.attempt')).toHaveLength(1);
  });
});

describe('tracing: span events', () => {
  it('breaker rejections and rate-limit denials are events on the active span', async () => {
    const t = tracing({ tracer, redis: false });
    const breaker = circuitBreaker({
      name: 'pay',
      policy: consecutiveFailures({ threshold: 1 }),
      clock: manualClock(),
    });
    const limiter = fixedWindow({ limit: 1, windowMs: 1_000, name: 'api', clock: manualClock() });
    t.watch(breaker);
    t.watch(limiter);
    await tracer.startActiveSpan('request', async (span) => {
      await breaker.execute(async () => Promise.reject(new Error('x'))).catch(() => {});
      await breaker.execute(async () => 1).catch(() => {});
      await limiter.limit('k');
      await limiter.limit('k');
      span.end();
    });
    const [request] = finished('request');
    const names = request!.events.map((e) => e.name);
    expect(names).toEqual([
      'girder.breaker.state_change',
      'girder.breaker.rejected',
      'girder.ratelimit.denied',
    ]);
    expect(request!.events[1]!.attributes).toMatchObject({
      'girder.name': 'pay',
      'girder.breaker.reason': 'open',
    });
    t.close();
  });

  it('retries are events on the active span', async () => {
    const t = tracing({ tracer, redis: false });
    let n = 0;
    const flaky = withRetry(
      {
        send: async () => {
          if (n++ === 0) throw new Error('blip');
          return 'ok';
        },
      },
      { attempts: 2, backoff: { delayMs: () => 0 } },
      { name: 'r' },
    );
    t.watch(flaky);
    await tracer.startActiveSpan('request', async (span) => {
      await flaky.send();
      span.end();
    });
    const [request] = finished('request');
    expect(request!.events.map((e) => e.name)).toEqual(['girder.retry']);
    expect(request!.events[0]!.attributes).toMatchObject({ 'girder.retry.attempt': 1 });
    t.close();
  });
});

describe('tracing: Redis round trips', () => {
  let client: Redis;
  beforeAll(() => {
    client = new Redis(sharedRedisUrl(), { enableAutoPipelining: true });
  });
  afterAll(() => client.disconnect());

  it('each round trip of a Redis limiter is a db.system=redis client span under the caller', async () => {
    const limiter = fixedWindow({
      limit: 5,
      windowMs: 1_000,
      name: 'redis-api',
      store: redisStore(client, { prefix: uniquePrefix('obs').slice(0, -1) }),
    });
    await limiter.limit('warm'); // the server clock probe and script load happen here
    exporter.reset();
    const t = tracing({ tracer });
    await tracer.startActiveSpan('request', async (span) => {
      await limiter.limit('k');
      span.end();
    });
    const [request] = finished('request');
    const spans = exporter.getFinishedSpans().filter((s) => s.attributes['db.system'] === 'redis');
    expect(spans.length).toBeGreaterThanOrEqual(1);
    expect(spans[0]!.name).toBe('EVALSHA');
    expect(spans[0]!.kind).toBe(2); // SpanKind.CLIENT
    expect(parentOf(spans[0]!)).toBe(request!.spanContext().spanId);
    t.close();
    exporter.reset();
    await limiter.limit('k');
    expect(exporter.getFinishedSpans()).toHaveLength(0);
  });
});

describe('tracing: options', () => {
  it('refuses a misspelt option and a non-tracer', () => {
    expect(() => tracing({ tracer, rediss: true } as never)).toThrow(/rediss/);
    expect(() => tracing({ tracer: {} as never })).toThrow(/tracer/);
    // A provider with no processors still accepts the tracer (no SDK cost asserted here).
    const t = tracing({ tracer: new BasicTracerProvider().getTracer('x'), redis: false });
    t.close();
  });
});
