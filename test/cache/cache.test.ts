// Unit behaviour on memory layers and a manual clock: events, options, L1 bounds,
// serializer, cancellation, close, and the bus sequence tracker (property-tested).
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { SequenceTracker } from '../../src/cache/bus-receiver.js';
import {
  type BusMessage,
  type CacheEvents,
  cache,
  memoryBus,
  memoryCacheStore,
} from '../../src/cache/index.js';
import { manualClock } from '../../src/core/index.js';

describe('options', () => {
  it.each([
    [{ ttlMs: 0 }, 'ttlMs'],
    [{ l1: { maxEntries: 0 } }, 'l1'],
    [{ l1: false }, 'l1'],
    [{ timeouts: { softMs: -1 } }, 'timeouts.softMs'],
    [{ singleflight: 'everywhere' }, 'singleflight'],
    [{ refreshBackoffMs: -1 }, 'refreshBackoffMs'],
    [{ ttlMs: 10, graceMs: 10, maxTtlMs: 15 }, 'maxTtlMs'],
    [{ l2: {} }, 'l2'],
  ])('%j is refused naming %s', (options, path) => {
    let error: unknown;
    try {
      cache(options as never);
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: 'INVALID_OPTIONS' });
    expect((error as Error).message).toContain(path);
  });
});

describe('events', () => {
  it('hit / miss per layer, load with its duration', async () => {
    const clock = manualClock(1_000);
    const l2 = memoryCacheStore({ clock });
    const c = cache<string>({ l2, clock, ttlMs: 1_000 });
    const seen: [string, unknown][] = [];
    for (const name of ['hit', 'miss', 'load'] as (keyof CacheEvents)[]) {
      c.events.on(name, (e) => seen.push([name, e]));
    }
    await c.getOrSet('k', async () => {
      clock.advance(25);
      return 'v';
    });
    expect(seen).toEqual([
      ['miss', { key: 'k', layer: 'l1' }],
      ['miss', { key: 'k', layer: 'l2' }],
      ['load', { key: 'k', durationMs: 25, outcome: 'value', background: false }],
    ]);
    seen.length = 0;
    await c.get('k');
    expect(seen).toEqual([['hit', { key: 'k', layer: 'l1', negative: false }]]);
    const other = cache<string>({ l2, clock });
    other.events.on('hit', (e) => seen.push(['hit', e]));
    other.events.on('miss', (e) => seen.push(['miss', e]));
    seen.length = 0;
    expect(await other.get('k')).toBe('v');
    expect(seen).toEqual([
      ['miss', { key: 'k', layer: 'l1' }],
      ['hit', { key: 'k', layer: 'l2', negative: false }],
    ]);
  });

  it('a loader error is an error event and a load with outcome error', async () => {
    const c = cache<string>({});
    const errors: unknown[] = [];
    const loads: CacheEvents['load'][] = [];
    c.events.on('error', (e) => errors.push(e));
    c.events.on('load', (e) => loads.push(e));
    const boom = new Error('boom');
    await expect(c.getOrSet('k', () => Promise.reject(boom))).rejects.toBe(boom);
    expect(errors).toEqual([{ key: 'k', error: boom }]);
    expect(loads[0]).toMatchObject({ outcome: 'error' });
  });

  it('invalidated on local calls and on bus messages', async () => {
    const bus = memoryBus();
    const a = cache<number>({ bus });
    const b = cache<number>({ bus });
    const local: CacheEvents['invalidated'][] = [];
    const remote: CacheEvents['invalidated'][] = [];
    a.events.on('invalidated', (e) => local.push(e));
    b.events.on('invalidated', (e) => remote.push(e));
    await a.delete(['x', 'y']);
    await a.deleteByTag('t');
    await a.clear();
    await vi.waitFor(() => expect(remote).toHaveLength(3));
    expect(local).toEqual([
      { scope: 'key', keys: ['x', 'y'], source: 'local' },
      { scope: 'tag', tag: 't', source: 'local' },
      { scope: 'all', source: 'local' },
    ]);
    expect(remote.map((e) => [e.scope, e.source])).toEqual([
      ['key', 'bus'],
      ['tag', 'bus'],
      ['all', 'bus'],
    ]);
  });

  it('a bus that fails to publish is a busError, not an exception', async () => {
    const c = cache<number>({
      bus: {
        kind: 'broken',
        publish: () => Promise.reject(new Error('down')),
        subscribe: () => () => {},
        close: async () => {},
      },
    });
    const errors: unknown[] = [];
    c.events.on('busError', (e) => errors.push(e));
    await c.set('k', 1);
    expect(errors).toHaveLength(1);
    expect(await c.get('k')).toBe(1);
  });
});

describe('L1', () => {
  it('keeps at most maxEntries, least recently used out first', async () => {
    const c = cache<number>({ l1: { maxEntries: 2 } });
    await c.set('a', 1);
    await c.set('b', 2);
    await c.get('a');
    await c.set('c', 3);
    expect(await c.getMany(['a', 'b', 'c'])).toEqual([1, undefined, 3]);
  });

  it('keeps at most maxBytes', async () => {
    const c = cache<string>({ l1: { maxEntries: 1_000, maxBytes: 2_000 } });
    for (let i = 0; i < 10; i++) await c.set(`k${i}`, 'x'.repeat(300));
    const values = await c.getMany(Array.from({ length: 10 }, (_, i) => `k${i}`));
    expect(values.filter((v) => v !== undefined).length).toBeLessThan(10);
    expect(values[9]).toBe('x'.repeat(300));
  });

  it('hands back the same object on an L1 hit (no serialization)', async () => {
    const c = cache<{ n: number }>({});
    const value = { n: 1 };
    await c.set('k', value);
    expect(await c.get('k')).toBe(value);
  });
});

describe('serializer', () => {
  it('is used for L2 only and must round-trip', async () => {
    const l2 = memoryCacheStore();
    const serializer = {
      serialize: vi.fn((d: Date) => d.toISOString()),
      deserialize: vi.fn((s: string) => new Date(s)),
    };
    const a = cache<Date>({ l2, serializer });
    const b = cache<Date>({ l2, serializer });
    const when = new Date('2026-01-02T03:04:05Z');
    await a.set('d', when);
    expect(await a.get('d')).toBe(when); // L1 hit: no deserialize
    expect(serializer.deserialize).not.toHaveBeenCalled();
    expect(await b.get('d')).toEqual(when);
    expect(serializer.deserialize).toHaveBeenCalledTimes(1);
  });
});

describe('cancellation and close', () => {
  it("a caller's abort stops its wait only; the load carries on for others", async () => {
    const c = cache<string>({});
    let finish!: (v: string) => void;
    const loader = vi.fn(() => new Promise<string>((r) => (finish = r)));
    const controller = new AbortController();
    const first = c.getOrSet('k', loader, { signal: controller.signal });
    const second = c.getOrSet('k', loader);
    await vi.waitFor(() => expect(loader).toHaveBeenCalledTimes(1));
    controller.abort();
    await expect(first).rejects.toMatchObject({ code: 'ABORTED' });
    finish('v');
    expect(await second).toBe('v');
    expect(loader).toHaveBeenCalledTimes(1);
  });

  it('an already aborted signal is refused at once', async () => {
    const c = cache<string>({});
    await expect(
      c.getOrSet('k', async () => 'v', { signal: AbortSignal.abort() }),
    ).rejects.toMatchObject({ code: 'ABORTED' });
  });

  it('close() aborts running loaders', async () => {
    const c = cache<string>({});
    let seen: AbortSignal | undefined;
    const call = c.getOrSet('k', ({ signal }) => {
      seen = signal;
      return new Promise<string>((_, reject) =>
        signal.addEventListener('abort', () => reject(signal.reason)),
      );
    });
    await vi.waitFor(() => expect(seen).toBeDefined());
    await c.close();
    expect(seen?.aborted).toBe(true);
    await expect(call).rejects.toBeDefined();
  });

  it('loads racing an invalidation are not cached', async () => {
    const c = cache<string>({});
    let finish!: (v: string) => void;
    const call = c.getOrSet('k', () => new Promise<string>((r) => (finish = r)));
    await vi.waitFor(() => expect(finish).toBeDefined());
    await c.delete('k'); // the data changed while the loader was reading it
    finish('maybe-old');
    expect(await call).toBe('maybe-old');
    expect(await c.get('k')).toBeUndefined();
  });
});

describe('bus sequence tracking', () => {
  it('first contact at 1 applies, above 1 is a gap', () => {
    const t = new SequenceTracker();
    expect(t.receive('a', 1)).toBe('apply');
    expect(t.receive('b', 4)).toBe('gap');
  });

  it('property: a gap is reported exactly when a message was skipped', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom('a', 'b', 'c'), fc.boolean()), { maxLength: 200 }),
        (steps) => {
          // Each sender numbers 1, 2, 3...; `true` means the message is delivered.
          const t = new SequenceTracker();
          const sent = new Map<string, number>();
          const delivered = new Map<string, number>();
          for (const [sender, deliver] of steps) {
            const seq = (sent.get(sender) ?? 0) + 1;
            sent.set(sender, seq);
            if (!deliver) continue;
            const expected = seq === (delivered.get(sender) ?? 0) + 1 ? 'apply' : 'gap';
            expect(t.receive(sender, seq)).toBe(expected);
            delivered.set(sender, seq);
            expect(t.receive(sender, seq)).toBe('duplicate');
          }
        },
      ),
    );
  });

  it('a forged message with a skipped number flushes the receiver', async () => {
    const bus = memoryBus();
    const c = cache<number>({ bus });
    await c.set('k', 1);
    const flushed: CacheEvents['flushed'][] = [];
    c.events.on('flushed', (e) => flushed.push(e));
    const forged: BusMessage = { from: 'other', seq: 1, op: 'delete', keys: ['x'] };
    await bus.publish(forged);
    await bus.publish({ ...forged, seq: 3 });
    expect(flushed).toEqual([{ reason: 'gap', entries: 1, sender: 'other' }]);
    expect(await c.get('k')).toBeUndefined();
  });
});

describe('unreadable L2 entries', () => {
  it('are a miss and an error event, never an exception', async () => {
    const l2 = memoryCacheStore();
    const writer = cache<string>({
      l2,
      serializer: { serialize: (v) => v, deserialize: (s) => s },
    });
    await writer.set('k', 'not json');
    const reader = cache<string>({ l2 });
    const errors: unknown[] = [];
    reader.events.on('error', (e) => errors.push(e));
    expect(await reader.get('k')).toBeUndefined();
    expect(errors).toHaveLength(1);
    expect(await reader.getOrSet('k', async () => 'reloaded')).toBe('reloaded');
  });
});

describe('namespace clear on the bus', () => {
  it("drops only that namespace from other instances' L1", async () => {
    const bus = memoryBus();
    const a = cache<number>({ bus });
    const b = cache<number>({ bus });
    await b.namespace('n').set('1', 1);
    await b.set('other', 2);
    const seen: CacheEvents['invalidated'][] = [];
    b.events.on('invalidated', (e) => seen.push(e));
    await a.namespace('n').clear();
    await vi.waitFor(() => expect(seen).toEqual([{ scope: 'all', prefix: 'n:', source: 'bus' }]));
    expect(await b.namespace('n').get('1')).toBeUndefined();
    expect(await b.get('other')).toBe(2);
  });
});

describe('getOrSet options', () => {
  it('are checked on the hit path too', async () => {
    const c = cache<number>({});
    await c.set('k', 1);
    await expect(c.getOrSet('k', async () => 2, { ttlMs: -5 })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    await expect(
      c.getOrSet('k', async () => 2, { timeouts: { hardMs: 1.5 } }),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(c.getOrSet('k', async () => 2, { signal: 'nope' as never })).rejects.toMatchObject(
      { code: 'INVALID_ARGUMENT' },
    );
    expect(await c.getOrSet('k', async () => 2, { ttlMs: 5 })).toBe(1);
  });
});
