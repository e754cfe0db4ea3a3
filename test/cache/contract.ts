// The cache contract, run on every layer combination: L1 only (with a memory bus),
// L2 only (memory store, real Redis), and two levels on real Redis (single and Cluster)
// with the Redis bus. Cache time runs on a manual clock everywhere; Redis keeps its own
// (long) TTLs, so only the cache's freshness/grace decisions move with the clock.
import { describe, expect, it, vi } from 'vitest';
import {
  type BusMessage,
  type Cache,
  type CacheBus,
  type CacheEvents,
  type CacheOptions,
  type CacheStore,
  cache,
  type L1Options,
} from '../../src/cache/index.js';
import type { ManualClock } from '../../src/core/index.js';

/** The layers one test shares between its cache instances. */
export interface Layers {
  l1: L1Options | false;
  l2?: CacheStore;
  bus?: CacheBus;
  clock: ManualClock;
}

/** A backend: makes fresh, isolated layers for each test. */
export interface CacheEnv {
  layers(): Layers;
  /** Whether instances keep an L1 that the bus must keep in step. */
  hasL1: boolean;
  /** Whether instances share data (an L2). */
  shared: boolean;
}

/** A bus that drops the messages `drop` picks (to lose one on purpose). */
export function lossyBus(bus: CacheBus, drop: (m: BusMessage) => boolean): CacheBus {
  return {
    kind: bus.kind,
    publish: (m) => (drop(m) ? Promise.resolve() : bus.publish(m)),
    subscribe: (h) => bus.subscribe(h),
    close: () => bus.close(),
  };
}

export function make<V>(layers: Layers, extra: Partial<CacheOptions<V>> = {}): Cache<V> {
  return cache<V>({
    l1: layers.l1,
    ...(layers.l2 === undefined ? {} : { l2: layers.l2 }),
    ...(layers.bus === undefined ? {} : { bus: layers.bus }),
    clock: layers.clock,
    ttlMs: 1_000,
    ...extra,
  });
}

/** A loader whose calls the test resolves by hand. */
function deferredLoader<V>() {
  const pending: { resolve(v: V | undefined): void; reject(e: unknown): void }[] = [];
  const loader = vi.fn(
    () =>
      new Promise<V | undefined>((resolve, reject) => {
        pending.push({ resolve, reject });
      }),
  );
  return { loader, pending };
}

function record<K extends keyof CacheEvents>(c: Cache<unknown>, event: K): CacheEvents[K][] {
  const seen: CacheEvents[K][] = [];
  c.events.on(event, (e) => seen.push(e));
  return seen;
}

const flush = async () => {
  for (let i = 0; i < 20; i++) await new Promise<void>((r) => setImmediate(r));
};

export function cacheContract(env: () => CacheEnv): void {
  it('set, get, has, delete round-trip', async () => {
    const c = make<{ n: number }>(env().layers());
    expect(await c.get('a')).toBeUndefined();
    await c.set('a', { n: 1 });
    expect(await c.get('a')).toEqual({ n: 1 });
    expect(await c.has('a')).toBe(true);
    await c.delete('a');
    expect(await c.get('a')).toBeUndefined();
    expect(await c.has('a')).toBe(false);
    await c.close();
  });

  it('entries expire after their ttl', async () => {
    const layers = env().layers();
    const c = make<number>(layers);
    await c.set('a', 1, { ttlMs: 500 });
    layers.clock.advance(499);
    expect(await c.get('a')).toBe(1);
    layers.clock.advance(1);
    expect(await c.get('a')).toBeUndefined();
    await c.close();
  });

  it('500 concurrent getOrSet on a cold key call the loader once', async () => {
    const c = make<string>(env().layers());
    const { loader, pending } = deferredLoader<string>();
    const calls = Array.from({ length: 500 }, () => c.getOrSet('cold', loader));
    await vi.waitFor(() => expect(pending.length).toBe(1));
    pending[0]?.resolve('v');
    expect(new Set(await Promise.all(calls))).toEqual(new Set(['v']));
    expect(loader).toHaveBeenCalledTimes(1);
    expect(await c.getOrSet('cold', loader)).toBe('v');
    expect(loader).toHaveBeenCalledTimes(1);
    await c.close();
  });

  it('negative caching: "not found" is remembered for negativeTtlMs', async () => {
    const layers = env().layers();
    const c = make<string>(layers, { negativeTtlMs: 200 });
    const loader = vi.fn(async () => undefined);
    expect(await c.getOrSet('ghost', loader)).toBeUndefined();
    expect(await c.getOrSet('ghost', loader)).toBeUndefined();
    expect(await c.get('ghost')).toBeUndefined();
    expect(await c.has('ghost')).toBe(false);
    expect(loader).toHaveBeenCalledTimes(1);
    layers.clock.advance(200);
    expect(await c.getOrSet('ghost', loader)).toBeUndefined();
    expect(loader).toHaveBeenCalledTimes(2);
    await c.close();
  });

  it('grace: serves stale at once and refreshes in the background', async () => {
    const layers = env().layers();
    const c = make<string>(layers, { graceMs: 5_000 });
    await c.set('k', 'old');
    layers.clock.advance(1_000);
    expect(await c.get('k')).toBeUndefined(); // get never serves stale
    const stale = record(c, 'stale');
    const loads = record(c, 'load');
    const { loader, pending } = deferredLoader<string>();
    expect(await c.getOrSet('k', loader)).toBe('old');
    expect(stale).toEqual([expect.objectContaining({ key: 'k', reason: 'grace' })]);
    await vi.waitFor(() => expect(pending.length).toBe(1));
    pending[0]?.resolve('new');
    await vi.waitFor(() => expect(loads.length).toBe(1));
    expect(loads[0]).toMatchObject({ key: 'k', outcome: 'value', background: true });
    await vi.waitFor(async () => expect(await c.get('k')).toBe('new'));
    expect(loader).toHaveBeenCalledTimes(1);
    await c.close();
  });

  it('fail-safe: a failing loader keeps the stale value', async () => {
    const layers = env().layers();
    const c = make<string>(layers, { graceMs: 5_000, timeouts: { softMs: 100 } });
    await c.set('k', 'old');
    layers.clock.advance(1_500);
    const errors = record(c, 'error');
    const stale = record(c, 'stale');
    const value = await c.getOrSet('k', async () => {
      throw new Error('db down');
    });
    expect(value).toBe('old');
    expect(errors).toHaveLength(1);
    expect(stale[0]).toMatchObject({ reason: 'loaderError' });
    await c.close();
  });

  it('refresh backoff: after a failed refresh, stale is served without the loader until refreshBackoffMs', async () => {
    const layers = env().layers();
    const c = make<string>(layers, { graceMs: 5_000, refreshBackoffMs: 1_000 });
    await c.set('k', 'old');
    layers.clock.advance(1_500);
    const loads = record(c, 'load');
    const stale = record(c, 'stale');
    const loader = vi.fn(async (): Promise<string> => {
      throw new Error('db down');
    });
    expect(await c.getOrSet('k', loader)).toBe('old');
    await vi.waitFor(() => expect(loads).toHaveLength(1));
    expect(loads[0]).toMatchObject({ outcome: 'error', background: true });
    for (let i = 0; i < 3; i++) expect(await c.getOrSet('k', loader)).toBe('old');
    expect(loader).toHaveBeenCalledTimes(1);
    expect(stale.map((e) => e.reason)).toEqual([
      'grace',
      'loaderError',
      'loaderError',
      'loaderError',
    ]);
    layers.clock.advance(999);
    expect(await c.getOrSet('k', loader)).toBe('old');
    expect(loader).toHaveBeenCalledTimes(1);
    layers.clock.advance(1);
    loader.mockResolvedValueOnce('new');
    expect(await c.getOrSet('k', loader)).toBe('old');
    await vi.waitFor(async () => expect(await c.get('k')).toBe('new'));
    expect(loader).toHaveBeenCalledTimes(2);
    await c.close();
  });

  it('refresh backoff 0: every read after a failed refresh calls the loader again', async () => {
    const layers = env().layers();
    const c = make<string>(layers, { graceMs: 5_000, refreshBackoffMs: 0 });
    await c.set('k', 'old');
    layers.clock.advance(1_500);
    const loads = record(c, 'load');
    const loader = vi.fn(async (): Promise<string> => {
      throw new Error('db down');
    });
    for (let i = 1; i <= 3; i++) {
      expect(await c.getOrSet('k', loader)).toBe('old');
      await vi.waitFor(() => expect(loads).toHaveLength(i));
    }
    expect(loader).toHaveBeenCalledTimes(3);
    await c.close();
  });

  it('soft timeout: a slow loader gets the stale value served', async () => {
    const layers = env().layers();
    const c = make<string>(layers, { graceMs: 5_000, timeouts: { softMs: 100, hardMs: 1_000 } });
    await c.set('k', 'old');
    layers.clock.advance(1_000);
    const { loader, pending } = deferredLoader<string>();
    const served = c.getOrSet('k', loader);
    await vi.waitFor(() => expect(pending.length).toBe(1));
    await layers.clock.advanceAsync(100);
    expect(await served).toBe('old');
    pending[0]?.resolve('new'); // the load carries on and fills the cache
    await vi.waitFor(async () => expect(await c.get('k')).toBe('new'));
    await c.close();
  });

  it('soft timeout: a fast loader wins over the stale value', async () => {
    const layers = env().layers();
    const c = make<string>(layers, { graceMs: 5_000, timeouts: { softMs: 100 } });
    await c.set('k', 'old');
    layers.clock.advance(1_000);
    expect(await c.getOrSet('k', async () => 'new')).toBe('new');
    await c.close();
  });

  it('hard timeout: nothing to serve and a slow loader throws CACHE_TIMEOUT', async () => {
    const layers = env().layers();
    const c = make<string>(layers, { timeouts: { hardMs: 300 } });
    const { loader, pending } = deferredLoader<string>();
    const call = c.getOrSet('k', loader);
    const settled = call.catch((e: unknown) => e);
    await vi.waitFor(() => expect(pending.length).toBe(1));
    await layers.clock.advanceAsync(300);
    expect(await settled).toMatchObject({ code: 'CACHE_TIMEOUT', timeoutMs: 300 });
    pending[0]?.resolve('late');
    await vi.waitFor(async () => expect(await c.get('k')).toBe('late'));
    await c.close();
  });

  it('a failing loader with nothing stale rejects with its error', async () => {
    const c = make<string>(env().layers());
    const boom = new Error('boom');
    await expect(c.getOrSet('k', () => Promise.reject(boom))).rejects.toBe(boom);
    expect(await c.getOrSet('k', async () => 'ok')).toBe('ok');
    await c.close();
  });

  it('tags + grace: deleteByTag leaves nothing servable, not even stale', async () => {
    const layers = env().layers();
    const c = make<string>(layers, { graceMs: 60_000, timeouts: { softMs: 100 } });
    await c.set('p1', 'old', { tags: ['catalog'] });
    await c.set('p2', 'other', { tags: ['other'] });
    layers.clock.advance(1_500); // past ttl, within grace
    await c.deleteByTag('catalog');
    const stale = record(c, 'stale');
    // A failing loader would fall back to stale if any were servable.
    await expect(
      c.getOrSet('p1', async () => {
        throw new Error('db down');
      }),
    ).rejects.toThrow('db down');
    expect(stale).toEqual([]);
    expect(await c.getOrSet('p1', async () => 'fresh', { tags: ['catalog'] })).toBe('fresh');
    expect(await c.get('p1')).toBe('fresh'); // written after the invalidation: valid
    // An untouched tag still serves stale.
    const never = async () => new Promise<string>(() => {});
    expect(await c.getOrSet('p2', never, { timeouts: { softMs: 0 } })).toBe('other');
    await c.close();
  });

  it('getMany and setMany', async () => {
    const c = make<number>(env().layers());
    await c.setMany([
      { key: 'a', value: 1 },
      { key: 'b', value: 2, options: { tags: ['t'] } },
    ]);
    expect(await c.getMany(['a', 'x', 'b'])).toEqual([1, undefined, 2]);
    await c.deleteByTag('t');
    expect(await c.getMany(['a', 'b'])).toEqual([1, undefined]);
    await c.close();
  });

  it('namespaces isolate keys and share everything else', async () => {
    const c = make<string>(env().layers());
    const users = c.namespace('users');
    await users.set('1', 'ann');
    expect(await users.get('1')).toBe('ann');
    expect(await c.get('1')).toBeUndefined();
    expect(await c.get('users:1')).toBe('ann');
    await c.close();
  });

  it('clear removes everything', async () => {
    const c = make<number>(env().layers());
    await c.set('a', 1);
    await c.set('b', 2);
    await c.clear();
    expect(await c.getMany(['a', 'b'])).toEqual([undefined, undefined]);
    await c.close();
  });

  it('clear on a namespace view clears that namespace only', async () => {
    const layers = env().layers();
    const c = make<number>(layers);
    const a = c.namespace('a');
    const b = c.namespace('b');
    await a.set('1', 1);
    await b.set('1', 2);
    await c.set('a-lookalike', 3);
    await a.clear();
    expect(await a.get('1')).toBeUndefined();
    expect(await b.get('1')).toBe(2);
    expect(await c.get('a-lookalike')).toBe(3);
    await c.close();
  });

  it('bad arguments throw INVALID_ARGUMENT and change nothing', async () => {
    const c = make<number>(env().layers());
    await expect(c.get('')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(c.set('a', 1, { ttlMs: -1 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(c.set('a', undefined as unknown as number)).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    await expect(c.set('a', 1, { tags: [''] })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(c.getOrSet('a', 'x' as never)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(c.deleteByTag('')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(() => c.namespace('')).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(await c.get('a')).toBeUndefined();
    await c.close();
  });

  describe('two instances', () => {
    it('an update on one reaches the other', async () => {
      const e = env();
      if (!e.shared && !e.hasL1) return;
      const layers = e.layers();
      const a = make<string>(layers);
      const b = make<string>(layers);
      await layers.bus?.ready?.();
      await a.set('k', 'v1');
      expect(await b.getOrSet('k', async () => 'v1')).toBe('v1'); // b's L1 holds v1 now
      await a.set('k', 'v2');
      if (e.shared) await vi.waitFor(async () => expect(await b.get('k')).toBe('v2'));
      else await vi.waitFor(async () => expect(await b.get('k')).toBeUndefined());
      await a.delete('k');
      await vi.waitFor(async () => expect(await b.get('k')).toBeUndefined());
      await Promise.all([a.close(), b.close()]);
    });

    it('deleteByTag on one invalidates the other, stale included', async () => {
      const e = env();
      const layers = e.layers();
      const a = make<string>(layers, { graceMs: 60_000, timeouts: { softMs: 100 } });
      const b = make<string>(layers, { graceMs: 60_000, timeouts: { softMs: 100 } });
      await layers.bus?.ready?.();
      await b.set('p', 'old', { tags: ['catalog'] });
      expect(await b.get('p')).toBe('old');
      layers.clock.advance(1_500);
      const invalidated = record(b, 'invalidated');
      await a.deleteByTag('catalog');
      if (e.hasL1) await vi.waitFor(() => expect(invalidated.length).toBe(1));
      await expect(
        b.getOrSet('p', async () => {
          throw new Error('db down');
        }),
      ).rejects.toThrow('db down');
      await Promise.all([a.close(), b.close()]);
    });

    it('a lost bus message is detected as a gap and flushes the L1', async () => {
      const e = env();
      if (!e.hasL1) return;
      const layers = e.layers();
      const bus = layers.bus as CacheBus;
      let dropNext = false;
      const lossy = lossyBus(bus, () => {
        const drop = dropNext;
        dropNext = false;
        return drop;
      });
      const a = make<string>({ ...layers, bus: lossy });
      const b = make<string>(layers);
      await bus.ready?.();
      const flushed = record(b, 'flushed');
      await a.set('x', '1'); // seq 1 arrives
      await b.set('k', 'b-local');
      await b.set('j', 'b-local');
      await flush();
      dropNext = true;
      await a.set('k', 'a-new'); // seq 2 lost: b still holds its own 'k'
      await a.set('y', '2'); // seq 3: b sees the gap
      await vi.waitFor(() =>
        expect(flushed).toEqual([expect.objectContaining({ reason: 'gap', sender: a.instanceId })]),
      );
      expect(await b.get('j')).toBe(e.shared ? 'b-local' : undefined); // L1 emptied
      expect(await b.get('k')).toBe(e.shared ? 'a-new' : undefined); // never the stale copy
      await Promise.all([a.close(), b.close()]);
    });
  });
}
