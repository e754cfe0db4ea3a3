import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { smoothWeightedRoundRobin } from '../../src/balancer/index.js';
import { inst, many } from './fixtures.js';

const seq = (picker: { pick(): { id: string } | undefined }, n: number) =>
  Array.from({ length: n }, () => picker.pick()?.id).join(' ');

describe('smoothWeightedRoundRobin', () => {
  it('gives the nginx sequence for 5:1:1, repeating', () => {
    const p = smoothWeightedRoundRobin();
    p.update([inst('a', 5), inst('b', 1), inst('c', 1)]);
    expect(seq(p, 14)).toBe('a a b a c a a a a b a c a a');
  });

  it('returns undefined with no instances and a lone instance always', () => {
    const p = smoothWeightedRoundRobin();
    expect(p.pick()).toBeUndefined();
    p.update([inst('x', 3)]);
    expect(seq(p, 3)).toBe('x x x');
    p.update([]);
    expect(p.pick()).toBeUndefined();
  });

  it('picks each instance exactly its weight in every window of total picks', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 8 }),
        (weights) => {
          const p = smoothWeightedRoundRobin();
          p.update(many(weights.length, weights));
          const total = weights.reduce((a, b) => a + b, 0);
          const picks = Array.from({ length: 3 * total }, () => Number(p.pick()?.id.slice(1)));
          for (let start = 0; start + total <= picks.length; start++) {
            const counts = new Array<number>(weights.length).fill(0);
            for (let k = start; k < start + total; k++) {
              const at = picks[k] as number;
              counts[at] = (counts[at] as number) + 1;
            }
            expect(counts).toEqual(weights);
          }
        },
      ),
    );
  });

  it('drops the effective weight on failure and recovers one step per success', () => {
    const p = smoothWeightedRoundRobin();
    const a = inst('a', 5);
    p.update([a, inst('b', 1)]);
    p.report(a, { ok: false, latencyMs: 3 });
    expect(p.effectiveWeight(a)).toBe(2); // 5 - ceil(5 × 0.5)
    p.report(a, { ok: false, latencyMs: 3 });
    expect(p.effectiveWeight(a)).toBe(1); // floor
    p.report(a, { ok: false, latencyMs: 3 });
    expect(p.effectiveWeight(a)).toBe(1);
    for (let s = 2; s <= 5; s++) {
      p.report(a, { ok: true, latencyMs: 3 });
      expect(p.effectiveWeight(a)).toBe(s);
    }
    p.report(a, { ok: true, latencyMs: 3 });
    expect(p.effectiveWeight(a)).toBe(5);
  });

  it('shares picks by effective weight while degraded', () => {
    const p = smoothWeightedRoundRobin({ failurePenalty: 1 });
    const a = inst('a', 4);
    p.update([a, inst('b', 2)]);
    p.report(a, { ok: false, latencyMs: 1 }); // a: 4 -> 1
    const counts = { a: 0, b: 0 };
    for (let i = 0; i < 300; i++) counts[p.pick()?.id as 'a' | 'b']++;
    expect(counts).toEqual({ a: 100, b: 200 });
  });

  it('keeps state of instances that stay across update and ignores reports for removed ones', () => {
    const p = smoothWeightedRoundRobin();
    const a = inst('a', 4);
    const gone = inst('gone', 1);
    p.update([a, gone]);
    p.report(a, { ok: false, latencyMs: 1 });
    p.pick();
    p.update([inst('a', 4), inst('n', 2)]);
    expect(p.effectiveWeight(a)).toBe(2);
    expect(p.effectiveWeight(gone)).toBeUndefined();
    p.report(gone, { ok: false, latencyMs: 1 });
    expect(p.stats().map((s) => [s.id, s.picks])).toEqual([
      ['a', 1],
      ['n', 0],
    ]);
    p.update([inst('a', 1)]);
    expect(p.effectiveWeight(a)).toBe(1);
  });

  it('emits updated with counts', () => {
    const p = smoothWeightedRoundRobin({ name: 'orders' });
    const seen: unknown[] = [];
    p.events.on('updated', (e) => seen.push(e));
    p.update([inst('a'), inst('b')]);
    p.update([inst('b'), inst('c'), inst('d')]);
    expect(seen).toEqual([
      { name: 'orders', instances: 2, added: 2, removed: 0 },
      { name: 'orders', instances: 3, added: 2, removed: 1 },
    ]);
  });

  it('rejects bad options and bad input without changing state', () => {
    expect(() => smoothWeightedRoundRobin({ failurePenalty: 0 })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS' }),
    );
    expect(() => smoothWeightedRoundRobin({ zz: 1 } as never)).toThrow(/zz/);
    const p = smoothWeightedRoundRobin();
    p.update([inst('a', 2)]);
    for (const bad of [
      [inst('a'), inst('a')],
      [inst('a', 0)],
      [inst('a', Number.NaN)],
      [{ ...inst('a'), id: '' }],
      [null],
      'nope',
    ]) {
      expect(() => p.update(bad as never)).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
      );
    }
    expect(p.pick()?.id).toBe('a');
    const a = inst('a', 2);
    for (const bad of [
      null,
      { ok: 'yes', latencyMs: 1 },
      { ok: true, latencyMs: -1 },
      { ok: true },
    ]) {
      expect(() => p.report(a, bad as never)).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
      );
    }
    expect(() => p.report(null as never, { ok: true, latencyMs: 1 })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    expect(p.effectiveWeight(a)).toBe(2);
  });
});
