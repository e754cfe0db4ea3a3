// girder/cache blocks in girder/observability: counters, ranking jobs and caches.
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import {
  cache,
  memoryCacheStore,
  memoryCounters,
  type RankingCache,
  rankingJob,
} from '../../src/cache/index.js';
import { manualClock } from '../../src/core/index.js';
import { leaderElection } from '../../src/jobs/index.js';
import { memoryLock } from '../../src/lock/index.js';
import { metrics } from '../../src/observability/index.js';
import { nonZero, series } from './helpers.js';

describe('metrics: counters', () => {
  it('counts increments that found nothing loaded', async () => {
    const registry = new Registry();
    const counters = memoryCounters({ name: 'views' });
    metrics({ registry }).watch(counters);
    await counters.incr('p:1', 'views');
    await counters.init('p:1', { views: 0 });
    await counters.incr('p:1', 'views');
    await counters.incr('p:2', 'views');
    expect(await nonZero(registry, 'girder_counters_misses_total')).toEqual({ 'name=views': 2 });
  });
});

describe('metrics: ranking jobs', () => {
  it('counts runs by outcome, their durations, and reads served from the last copy', async () => {
    const clock = manualClock(0);
    const registry = new Registry();
    let down = false;
    let calls = 0;
    const store = new Map<string, unknown>();
    const cache: RankingCache<number> = {
      get: async (k) => {
        if (down) throw new Error('down');
        return store.get(k) as number | undefined;
      },
      set: async (k, v) => {
        if (down) throw new Error('down');
        store.set(k, v);
      },
    };
    const locker = memoryLock({ clock });
    const [leading, following] = [0, 1].map(() =>
      leaderElection({ locker, name: 'popular', ttlMs: 3_000, pollMs: 500, clock }),
    );
    const job = rankingJob({
      name: 'popular',
      compute: async () => {
        calls++;
        await new Promise<void>((resolve) => clock.setTimeout(resolve, 40));
        if (calls === 2) throw new Error('db');
        return calls;
      },
      cache,
      everyMs: 1_000,
      election: leading!,
      clock,
    });
    // Another instance's job: it follows, and is watched under the same name.
    const other = rankingJob({
      name: 'popular',
      compute: () => 0,
      cache,
      everyMs: 1_000,
      election: following!,
      clock,
    });
    const m = metrics({ registry });
    m.watch(job);
    m.watch(other);
    await clock.advanceAsync(100); // elected: run 1 computed in 40 ms
    await clock.advanceAsync(1_000); // period: run 2 fails on the leader, the follower skips
    down = true;
    expect(await job.get()).toBe(1);
    expect(await nonZero(registry, 'girder_ranking_runs_total')).toEqual({
      'name=popular,outcome=computed': 1,
      'name=popular,outcome=failed_compute': 1,
      'name=popular,outcome=skipped_follower': 1,
    });
    expect(await nonZero(registry, 'girder_ranking_duration_seconds')).toEqual({
      'name=popular,outcome=computed': 1,
      'name=popular,outcome=failed': 1,
    });
    const sum = (
      await registry.getSingleMetric('girder_ranking_duration_seconds')?.get()
    )?.values.find(
      (v) =>
        (v as { metricName?: string }).metricName?.endsWith('_sum') &&
        v.labels.outcome === 'computed',
    );
    expect(sum?.value).toBeCloseTo(0.04, 5);
    expect(await series(registry, 'girder_ranking_fallbacks_total')).toEqual({ 'name=popular': 1 });
    await job.close();
    await other.close();
    await leading?.close();
    await following?.close();
    await locker.close();
  });
});

describe('metrics: caches', () => {
  it('counts lookups by layer and result, so each layer has a hit ratio; loads by outcome', async () => {
    const clock = manualClock(1_000);
    const registry = new Registry();
    const l2 = memoryCacheStore({ clock });
    const a = cache<string>({ name: 'products', l1: { maxEntries: 100 }, l2, ttlMs: 1_000, clock });
    const b = cache<string>({ name: 'products', l1: { maxEntries: 100 }, l2, ttlMs: 1_000, clock });
    const m = metrics({ registry });
    m.watch(a);
    m.watch(b, { name: 'products-b' });
    expect(await a.getOrSet('p:1', () => 'one')).toBe('one'); // l1 miss, l2 miss, load
    expect(await a.get('p:1')).toBe('one'); // l1 hit
    expect(await b.get('p:1')).toBe('one'); // l1 miss, l2 hit
    expect(await b.get('p:1')).toBe('one'); // l1 hit
    expect(await a.getOrSet('p:2', () => undefined)).toBeUndefined(); // negative load
    await expect(
      a.getOrSet('p:3', async () => {
        await Promise.resolve();
        throw new Error('db');
      }),
    ).rejects.toThrow('db');
    const lookups = await nonZero(registry, 'girder_cache_lookups_total');
    expect(lookups['layer=l1,name=products,result=hit']).toBe(1);
    expect(lookups['layer=l1,name=products-b,result=hit']).toBe(1);
    expect(lookups['layer=l2,name=products-b,result=hit']).toBe(1);
    expect(lookups['layer=l1,name=products-b,result=miss']).toBe(1);
    expect(lookups['layer=l2,name=products,result=miss']).toBeGreaterThanOrEqual(3);
    const loads = await nonZero(registry, 'girder_cache_load_duration_seconds');
    expect(loads).toEqual({
      'background=false,name=products,outcome=value': 1,
      'background=false,name=products,outcome=notFound': 1,
      'background=false,name=products,outcome=error': 1,
    });
    expect(await nonZero(registry, 'girder_cache_errors_total')).toEqual({
      'kind=loader,name=products': 1,
    });
    await a.close();
    await b.close();
  });

  it('counts stale serves by layer and reason', async () => {
    const clock = manualClock(1_000);
    const registry = new Registry();
    const c = cache<string>({
      name: 'c',
      l1: { maxEntries: 10 },
      ttlMs: 100,
      graceMs: 1_000,
      clock,
    });
    metrics({ registry }).watch(c);
    await c.getOrSet('k', () => 'v1');
    await clock.advanceAsync(200);
    expect(await c.getOrSet('k', () => 'v2')).toBe('v1'); // stale within grace, refreshed behind
    expect(await nonZero(registry, 'girder_cache_stale_total')).toEqual({
      'layer=l1,name=c,reason=grace': 1,
    });
    await c.close();
  });
});
