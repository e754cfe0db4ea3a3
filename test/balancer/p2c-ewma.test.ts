import { describe, expect, it } from 'vitest';
import { p2cEwma } from '../../src/balancer/index.js';
import { manualClock } from '../../src/core/index.js';
import { chiSquare, chiSquareCritical, countPicks, inst, many, seeded } from './fixtures.js';

describe('p2cEwma', () => {
  it('spreads evenly over equal instances (chi-square)', () => {
    const p = p2cEwma({ random: seeded(5) });
    p.update(many(6));
    const counts = countPicks(() => p.pick(), 12_000);
    const observed = Array.from({ length: 6 }, (_, i) => counts.get(`i${i}`) ?? 0);
    expect(chiSquare(observed, new Array(6).fill(1))).toBeLessThan(chiSquareCritical(5));
  });

  it('avoids the slow instance while the others are idle', () => {
    const clock = manualClock();
    const p = p2cEwma({ random: seeded(6), clock });
    p.update(many(4));
    for (let i = 0; i < 4; i++)
      p.report(inst(`i${i}`), { ok: true, latencyMs: i === 0 ? 200 : 10 });
    const counts = countPicks(() => p.pick(), 2_000);
    expect(counts.get('i0') ?? 0).toBe(0);
  });

  it('weighs latency by calls in flight', () => {
    const p = p2cEwma({ random: seeded(9) });
    const fast = inst('fast');
    const slow = inst('slow');
    p.update([fast, slow]);
    p.report(fast, { ok: true, latencyMs: 10 });
    p.report(slow, { ok: true, latencyMs: 30 });
    // fast costs 11 × (k + 1), slow costs 31: fast is chosen until it has 2 in flight.
    expect(p.pick()?.id).toBe('fast');
    p.start(fast);
    expect(p.pick()?.id).toBe('fast');
    p.start(fast);
    expect(p.pick()?.id).toBe('slow');
  });

  it('takes a peak at once and decays back with time', () => {
    const clock = manualClock();
    const p = p2cEwma({ clock, decayMs: 1_000 });
    const a = inst('a');
    p.update([a]);
    expect(p.latencyOf(a)).toBeUndefined();
    p.report(a, { ok: true, latencyMs: 10 });
    expect(p.latencyOf(a)).toBe(10);
    clock.advance(10);
    p.report(a, { ok: true, latencyMs: 100 });
    expect(p.latencyOf(a)).toBe(100);
    clock.advance(1_000);
    p.report(a, { ok: true, latencyMs: 10 });
    expect(p.latencyOf(a)).toBeCloseTo(100 * Math.exp(-1) + 10 * (1 - Math.exp(-1)), 9);
  });

  it('counts a fast failure as the failure penalty, and ignores cancelled calls', () => {
    const p = p2cEwma({ failurePenaltyMs: 500 });
    const a = inst('a');
    p.update([a, inst('b')]);
    p.report(a, { ok: true, latencyMs: 5, cancelled: true });
    expect(p.latencyOf(a)).toBeUndefined();
    p.report(a, { ok: false, latencyMs: 2 });
    expect(p.latencyOf(a)).toBe(500);
  });

  it('gives a newcomer the mean latency: tried, not flooded', () => {
    const p = p2cEwma({ random: seeded(12) });
    const olds = many(3);
    p.update(olds);
    for (const o of olds) p.report(o, { ok: true, latencyMs: 20 });
    p.update([...olds, inst('new')]);
    let newcomer = 0;
    for (let k = 0; k < 40; k++) {
      const chosen = p.pick();
      if (!chosen) throw new Error('no pick');
      p.start(chosen);
      if (chosen.id === 'new') newcomer++;
    }
    // Equal costs: the in-flight factor spreads 40 calls about evenly over 4 instances.
    expect(newcomer).toBeGreaterThanOrEqual(8);
    expect(newcomer).toBeLessThanOrEqual(12);
  });

  it('keeps estimates across updates', () => {
    const p = p2cEwma();
    const a = inst('a');
    p.update([a]);
    p.report(a, { ok: true, latencyMs: 42 });
    p.update([inst('z'), inst('a')]);
    expect(p.latencyOf(a)).toBe(42);
  });

  it('rejects bad options', () => {
    expect(() => p2cEwma({ decayMs: 0 })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS' }),
    );
    expect(() => p2cEwma({ clock: {} as never })).toThrow(/clock/);
  });
});
