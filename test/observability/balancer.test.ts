// girder/balancer in girder/observability: picks per instance read at scrape time,
// ejections and the ejected gauge, balanced calls by outcome, and a span per attempt.
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import {
  balanced,
  roundRobin,
  smoothWeightedRoundRobin,
  withEjection,
} from '../../src/balancer/index.js';
import { manualClock } from '../../src/core/index.js';
import { metrics, tracing } from '../../src/observability/index.js';
import { inst, many } from '../balancer/fixtures.js';
import { staticDiscovery } from '../balancer/static-discovery.js';
import { nonZero, series } from './helpers.js';

const exporter = new InMemorySpanExporter();
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const tracer = provider.getTracer('girder-balancer-test');
afterAll(() => provider.shutdown());

describe('metrics: balancer', () => {
  it('counts picks per instance at scrape time, across updates', async () => {
    const registry = new Registry();
    const m = metrics({ registry });
    const picker = smoothWeightedRoundRobin({ name: 'orders' });
    m.watch(picker);
    picker.update([inst('a', 5), inst('b', 1), inst('c', 1)]);
    for (let i = 0; i < 14; i++) picker.pick();
    expect(await nonZero(registry, 'girder_balancer_picks_total')).toEqual({
      'instance=a,name=orders': 10,
      'instance=b,name=orders': 2,
      'instance=c,name=orders': 2,
    });
    expect(await series(registry, 'girder_balancer_instances')).toEqual({ 'name=orders': 3 });
    picker.update([inst('a', 5)]);
    picker.pick();
    // Counts are read at scrape time: picks of an instance removed before the next scrape
    // are not seen, so scrape before removing a.
    await series(registry, 'girder_balancer_picks_total');
    picker.update([inst('b', 1)]); // b comes back with a fresh count (1 < 2 scraped before)
    picker.pick();
    expect(await nonZero(registry, 'girder_balancer_picks_total')).toEqual({
      'instance=a,name=orders': 11,
      'instance=b,name=orders': 3,
      'instance=c,name=orders': 2,
    });
  });

  it('counts ejections and shows the ejected gauge', async () => {
    const registry = new Registry();
    const m = metrics({ registry });
    const clock = manualClock();
    const picker = withEjection(roundRobin({ name: 'inventory' }), {
      consecutiveFailures: 1,
      maxEjectionPercent: 50,
      baseEjectionMs: 1_000,
      clock,
    });
    m.watch(picker);
    picker.update(many(2));
    picker.report(inst('i0'), { ok: false, latencyMs: 1 });
    picker.report(inst('i1'), { ok: false, latencyMs: 1 });
    expect(await nonZero(registry, 'girder_balancer_ejections_total')).toEqual({
      'instance=i0,name=inventory,outcome=ejected': 1,
      'instance=i1,name=inventory,outcome=capped': 1,
    });
    expect(await series(registry, 'girder_balancer_ejected')).toEqual({ 'name=inventory': 1 });
    clock.advance(1_000);
    picker.pick();
    expect(await series(registry, 'girder_balancer_ejected')).toEqual({ 'name=inventory': 0 });
  });

  it('counts balanced calls by outcome with durations', async () => {
    const registry = new Registry();
    const m = metrics({ registry });
    const d = staticDiscovery('payments', many(2));
    let n = 0;
    const call = balanced(d, roundRobin(), async () => {
      if (n++ === 0) throw new Error('down');
      return 'ok';
    });
    m.watch(call);
    await call().catch(() => {});
    await call();
    d.set([]);
    await call().catch(() => {});
    expect(await nonZero(registry, 'girder_balancer_calls_total')).toEqual({
      'name=payments,outcome=failure': 1,
      'name=payments,outcome=ok': 1,
      'name=payments,outcome=no_instance': 1,
    });
    expect(await nonZero(registry, 'girder_balancer_call_duration_seconds')).toEqual({
      'name=payments,outcome=failure': 1,
      'name=payments,outcome=ok': 1,
    });
  });
});

describe('tracing: balancer', () => {
  it('makes a span per attempt of a balanced call', async () => {
    exporter.reset();
    const t = tracing({ tracer });
    const d = staticDiscovery('search', [inst('s1')]);
    const call = balanced(d, roundRobin(), async () => {
      throw new Error('boom');
    });
    t.watch(call);
    await call().catch(() => {});
    const spans = exporter.getFinishedSpans();
    expect(spans.map((s) => s.name)).toEqual(['girder.balancer.call']);
    expect(spans[0]?.attributes).toMatchObject({
      'girder.name': 'search',
      'girder.balancer.instance': 's1',
      'girder.balancer.outcome': 'failure',
    });
    expect(spans[0]?.status.code).toBe(2);
  });
});
