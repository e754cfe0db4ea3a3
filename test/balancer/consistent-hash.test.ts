import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { consistentHash, hash32 } from '../../src/balancer/index.js';
import type { Instance } from '../../src/registry/types.js';
import { many } from './fixtures.js';

const keys = (n: number) => Array.from({ length: n }, (_, i) => `user-${i}`);

describe('consistentHash', () => {
  it('sends a key to the same instance every time, across pickers', () => {
    const a = consistentHash();
    const b = consistentHash();
    a.update(many(5));
    b.update(many(5).reverse());
    for (const key of keys(200)) {
      const first = a.pick({ key })?.id;
      expect(a.pick({ key })?.id).toBe(first);
      expect(b.pick({ key })?.id).toBe(first);
    }
  });

  it('splits keys evenly enough with 160 virtual nodes', () => {
    // Each instance owns 160 arcs; its share of the ring has a relative standard deviation
    // of about 1/sqrt(160) ≈ 8%, so ±30% is more than 3.5 sigma (and the ring is fixed).
    const p = consistentHash();
    p.update(many(10));
    const counts = new Map<string, number>();
    for (const key of keys(20_000)) {
      const id = p.pick({ key })?.id ?? '';
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    expect(counts.size).toBe(10);
    for (const c of counts.values()) {
      expect(c).toBeGreaterThan(2_000 * 0.7);
      expect(c).toBeLessThan(2_000 * 1.3);
    }
  });

  it('moves only the removed instance keys when one leaves', () => {
    const p = consistentHash();
    p.update(many(8));
    const before = new Map(keys(5_000).map((k) => [k, p.pick({ key: k })?.id]));
    p.update(many(8).filter((i) => i.id !== 'i3'));
    for (const [key, id] of before) {
      const now = p.pick({ key })?.id;
      if (id !== 'i3') expect(now).toBe(id);
      else expect(now).not.toBe('i3');
    }
  });

  it('falls back to round robin without a key', () => {
    const p = consistentHash();
    p.update(many(3));
    expect([p.pick(), p.pick({}), p.pick()].map((i) => i?.id)).toEqual(['i0', 'i1', 'i2']);
  });

  it('uses an injected hash', () => {
    const p = consistentHash({ hash: () => 7, replicas: 1 });
    p.update(many(3));
    expect(p.pick({ key: 'x' })?.id).toBe('i0'); // every point at 7: ties ordered by id
  });

  it('holds the bounded-load bound under any interleaving of calls (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.constantFrom(1, 1.1, 1.25, 2),
        fc.array(fc.oneof(fc.string({ maxLength: 3 }), fc.nat(30)), {
          minLength: 1,
          maxLength: 200,
        }),
        (n, c, ops) => {
          const p = consistentHash({ boundedLoad: c, replicas: 20 });
          const list = many(n);
          p.update(list);
          const inflight: Instance[] = [];
          for (const op of ops) {
            if (typeof op === 'number') {
              // finish the call at that position, if any
              if (inflight.length === 0) continue;
              const [done] = inflight.splice(op % inflight.length, 1);
              p.report(done as Instance, { ok: true, latencyMs: 1 });
              continue;
            }
            const chosen = p.pick({ key: op });
            if (!chosen) throw new Error('no pick');
            const capacity = Math.ceil((c * (inflight.length + 1)) / n);
            expect(p.inFlight(chosen)).toBeLessThan(capacity);
            p.start(chosen);
            inflight.push(chosen);
          }
          for (const i of list)
            expect(p.inFlight(i)).toBe(inflight.filter((x) => x.id === i.id).length);
        },
      ),
    );
  });

  it('walks clockwise past a full instance and returns when it has room', () => {
    const p = consistentHash({ boundedLoad: 1 });
    p.update(many(2));
    const home = p.pick({ key: 'hot' }) as Instance;
    p.start(home); // 1 in flight: capacity for the next is ceil(2/2) = 1, home is full
    const next = p.pick({ key: 'hot' }) as Instance;
    expect(next.id).not.toBe(home.id);
    p.report(home, { ok: true, latencyMs: 1 });
    expect(p.pick({ key: 'hot' })?.id).toBe(home.id);
  });

  it('hash32 is stable and spreads neighbouring strings', () => {
    expect(hash32('a')).toBe(hash32('a'));
    const buckets = new Array(16).fill(0);
    for (let i = 0; i < 16_000; i++) buckets[hash32(`node#${i}`) >>> 28]++;
    for (const b of buckets) expect(Math.abs(b - 1_000)).toBeLessThan(150); // σ ≈ 31
  });

  it('rejects bad options', () => {
    expect(() => consistentHash({ boundedLoad: 0.5 })).toThrow(/boundedLoad/);
    expect(() => consistentHash({ replicas: 0 })).toThrow(/replicas/);
  });
});
