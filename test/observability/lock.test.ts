// The lock mapping of girder/observability, driven by a memoryLock on a manual clock so
// every count and duration is exact.
import { SpanStatusCode, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { Registry } from 'prom-client';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { manualClock } from '../../src/core/index.js';
import { LockTimeoutError, memoryLock } from '../../src/lock/index.js';
import { metrics, tracing } from '../../src/observability/index.js';
import { nonZero, series } from './helpers.js';

const exporter = new InMemorySpanExporter();
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
provider.register();
const tracer = trace.getTracer('girder-lock-test');
afterEach(() => exporter.reset());
afterAll(() => provider.shutdown());

/** Sum of a histogram's series with these labels (`k=v,...` sorted, as in helpers). */
async function histogramSums(registry: Registry, name: string): Promise<Record<string, number>> {
  const data = await registry.getSingleMetric(name)!.get();
  const out: Record<string, number> = {};
  for (const v of data.values as {
    labels: Record<string, string>;
    value: number;
    metricName?: string;
  }[]) {
    if (!v.metricName?.endsWith('_sum') || v.value === 0) continue;
    const key = Object.entries(v.labels)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, val]) => `${k}=${val}`)
      .join(',');
    out[key] = v.value;
  }
  return out;
}

const lockerFor = () => {
  const clock = manualClock();
  // ttl 1 000 ms, no watchdog: the local deadline is 1000 − (10 + 2) − 10 = 978 ms.
  const locker = memoryLock({ name: 'orders', ttlMs: 1_000, watchdog: false, clock });
  return { clock, locker };
};

/** Every event: acquired (twice), contended, timeout, extended, released, lost. */
async function drive(clock: ReturnType<typeof manualClock>, locker: ReturnType<typeof memoryLock>) {
  const first = await locker.acquire('k');
  const waiting = locker.acquire('k', { waitMs: 250 });
  const timedOut = expect(waiting).rejects.toBeInstanceOf(LockTimeoutError);
  await clock.advanceAsync(250);
  await timedOut;
  await first.extend();
  await clock.advanceAsync(100);
  await first.release(); // held 350 ms
  await locker.acquire('k');
  await clock.advanceAsync(1_000); // lost at its deadline, after 978 ms
}

describe('metrics: locks', () => {
  it('counts every event kind, waits, holds and losses under the locker name', async () => {
    const registry = new Registry();
    const { clock, locker } = lockerFor();
    metrics({ registry }).watch(locker);
    await drive(clock, locker);
    expect(await nonZero(registry, 'girder_lock_events_total')).toEqual({
      'kind=acquired,name=orders': 2,
      // The waiter tried twice: at once, and when its 250 ms ran out.
      'kind=contended,name=orders': 2,
      'kind=timeout,name=orders': 1,
      'kind=extended,name=orders': 1,
      'kind=released,name=orders': 1,
      'kind=lost,name=orders': 1,
    });
    expect(await series(registry, 'girder_lock_events_total')).toHaveProperty(
      'kind=extend_failed,name=orders',
      0,
    );
    expect(await nonZero(registry, 'girder_lock_lost_total')).toEqual({
      'name=orders,reason=deadline': 1,
    });
    expect(await nonZero(registry, 'girder_lock_wait_duration_seconds')).toEqual({
      'name=orders,outcome=acquired': 2,
      'name=orders,outcome=timeout': 1,
    });
    expect(await histogramSums(registry, 'girder_lock_wait_duration_seconds')).toEqual({
      'name=orders,outcome=timeout': 0.25,
    });
    expect(await nonZero(registry, 'girder_lock_hold_duration_seconds')).toEqual({
      'name=orders,outcome=released': 1,
      'name=orders,outcome=lost': 1,
    });
    expect(await histogramSums(registry, 'girder_lock_hold_duration_seconds')).toEqual({
      'name=orders,outcome=released': 0.35,
      'name=orders,outcome=lost': 0.978,
    });
    await locker.close();
  });

  it('after unwatch nothing changes', async () => {
    const registry = new Registry();
    const { clock, locker } = lockerFor();
    const unwatch = metrics({ registry }).watch(locker, { name: 'stock' });
    const lock = await locker.acquire('k');
    unwatch();
    await lock.release();
    await drive(clock, locker);
    expect(await nonZero(registry, 'girder_lock_events_total')).toEqual({
      'kind=acquired,name=stock': 1,
    });
    expect(await nonZero(registry, 'girder_lock_hold_duration_seconds')).toEqual({});
    await locker.close();
  });
});

describe('tracing: locks', () => {
  it('one span per settled acquire, child of the caller, with its wait; a loss is a span event', async () => {
    const t = tracing({ tracer, redis: false });
    const { clock, locker } = lockerFor();
    t.watch(locker);
    await tracer.startActiveSpan('request', async (parent) => {
      const lock = await locker.acquire('k');
      await expect(locker.acquire('k', { waitMs: 0 })).rejects.toBeInstanceOf(LockTimeoutError);
      await clock.advanceAsync(1_000);
      expect(lock.held).toBe(false);
      parent.end();
    });
    const [request] = exporter.getFinishedSpans().filter((s) => s.name === 'request');
    const spans = exporter.getFinishedSpans().filter((s) => s.name === 'girder.lock.acquire');
    expect(spans).toHaveLength(2);
    for (const s of spans) {
      expect(s.parentSpanContext?.spanId).toBe(request!.spanContext().spanId);
    }
    expect(spans[0]!.attributes).toMatchObject({
      'girder.name': 'orders',
      'girder.lock.key': 'k',
      'girder.lock.waited_ms': 0,
      'girder.lock.fence': 1,
    });
    expect(spans[0]!.status.code).not.toBe(SpanStatusCode.ERROR);
    expect(spans[1]!.status).toMatchObject({ code: SpanStatusCode.ERROR, message: 'LOCK_TIMEOUT' });
    const lost = request!.events.find((e) => e.name === 'girder.lock.lost');
    expect(lost?.attributes).toMatchObject({
      'girder.lock.reason': 'deadline',
      'girder.lock.fence': 1,
    });
    t.close();
    await locker.close();
  });
});
