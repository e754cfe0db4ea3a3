import { describe, expect, it } from 'vitest';
import { leastActive, random, roundRobin, weightedRandom } from '../../src/balancer/index.js';
import { chiSquare, chiSquareCritical, countPicks, inst, many, seeded } from './fixtures.js';

const N = 20_000;
const countsOf = (counts: Map<string, number>, n: number) =>
  Array.from({ length: n }, (_, i) => counts.get(`i${i}`) ?? 0);

describe('roundRobin', () => {
  it('takes instances in turn and continues across updates', () => {
    const p = roundRobin();
    expect(p.pick()).toBeUndefined();
    p.update(many(3));
    expect(Array.from({ length: 7 }, () => p.pick()?.id)).toEqual([
      'i0',
      'i1',
      'i2',
      'i0',
      'i1',
      'i2',
      'i0',
    ]);
    p.update(many(2));
    expect(Array.from({ length: 3 }, () => p.pick()?.id)).toEqual(['i1', 'i0', 'i1']);
  });
});

describe('random', () => {
  it('is uniform (chi-square, 10 instances, fixed seed)', () => {
    const p = random({ random: seeded(1) });
    p.update(many(10));
    const observed = countsOf(
      countPicks(() => p.pick(), N),
      10,
    );
    expect(chiSquare(observed, new Array(10).fill(1))).toBeLessThan(chiSquareCritical(9));
  });

  it('stays in range when random() returns its extremes', () => {
    const p = random({ random: () => 0.9999999999999999 });
    p.update(many(3));
    expect(p.pick()?.id).toBe('i2');
    const q = random({ random: () => 0 });
    q.update(many(3));
    expect(q.pick()?.id).toBe('i0');
  });

  it('rejects a random that is not a function', () => {
    expect(() => random({ random: 3 as never })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS' }),
    );
  });
});

describe('weightedRandom', () => {
  it('follows the weights (chi-square, weights 1..5, fixed seeds)', () => {
    const weights = [1, 2, 3, 4, 5];
    for (const seed of [7, 8, 9]) {
      const p = weightedRandom({ random: seeded(seed) });
      p.update(many(5, weights));
      const observed = countsOf(
        countPicks(() => p.pick(), N),
        5,
      );
      expect(chiSquare(observed, weights)).toBeLessThan(chiSquareCritical(4));
    }
  });

  it('maps the extremes of random() to the first and last instance', () => {
    const lo = weightedRandom({ random: () => 0 });
    lo.update(many(3, [2, 2, 2]));
    expect(lo.pick()?.id).toBe('i0');
    const hi = weightedRandom({ random: () => 0.9999999999999999 });
    hi.update(many(3, [2, 2, 2]));
    expect(hi.pick()?.id).toBe('i2');
  });
});

describe('leastActive', () => {
  it('always picks an instance with the fewest calls in flight', () => {
    const p = leastActive({ random: seeded(3) });
    p.update(many(4));
    const a = inst('i0');
    p.start(a);
    p.start(a);
    const load = new Map<string, number>([['i0', 2]]);
    for (let k = 0; k < 10; k++) {
      const chosen = p.pick();
      if (!chosen) throw new Error('no pick');
      const min = Math.min(...['i0', 'i1', 'i2', 'i3'].map((id) => load.get(id) ?? 0));
      expect(load.get(chosen.id) ?? 0).toBe(min);
      p.start(chosen);
      load.set(chosen.id, (load.get(chosen.id) ?? 0) + 1);
    }
    expect([...load.values()].sort()).toEqual([3, 3, 3, 3]);
    p.report(a, { ok: true, latencyMs: 1 });
    expect(p.pick()?.id).toBe('i0');
  });

  it('never counts below zero', () => {
    const p = leastActive({ ties: 'round-robin' });
    p.update(many(2));
    p.report(inst('i0'), { ok: false, latencyMs: 1 });
    p.report(inst('i0'), { ok: false, latencyMs: 1 });
    p.start(inst('i1'));
    expect(p.pick()?.id).toBe('i0');
  });

  it('breaks ties in turn with ties: round-robin', () => {
    const p = leastActive({ ties: 'round-robin' });
    p.update(many(3));
    expect(Array.from({ length: 6 }, () => p.pick()?.id)).toEqual([
      'i0',
      'i1',
      'i2',
      'i0',
      'i1',
      'i2',
    ]);
  });

  it('breaks ties uniformly with ties: random (chi-square)', () => {
    const p = leastActive({ random: seeded(11) });
    p.update(many(8));
    const observed = countsOf(
      countPicks(() => p.pick(), N),
      8,
    );
    expect(chiSquare(observed, new Array(8).fill(1))).toBeLessThan(chiSquareCritical(7));
  });

  it('rejects a bad ties option', () => {
    expect(() => leastActive({ ties: 'first' as never })).toThrow(/ties/);
  });
});
