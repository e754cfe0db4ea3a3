import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CountWindow,
  DecayingMean,
  InvalidArgumentError,
  InvalidOptionsError,
  manualClock,
  TimeWindow,
} from '../../src/core/index.js';

const issuesOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidOptionsError);
    return (err as InvalidOptionsError).issues.map((i) => i.path);
  }
  throw new Error('expected InvalidOptionsError');
};

describe('TimeWindow', () => {
  it('validates its options strictly', () => {
    expect(issuesOf(() => new TimeWindow({ windowMs: 0, buckets: 1.5 }))).toEqual([
      'windowMs',
      'buckets',
    ]);
    expect(
      issuesOf(() => new TimeWindow({ windowMs: 1_000, buckets: 10, bukets: 3 } as never)),
    ).toEqual(['']);
    expect(
      issuesOf(() => new TimeWindow({ windowMs: Number.POSITIVE_INFINITY, buckets: 1 })),
    ).toEqual(['windowMs']);
  });

  it('sums counters over the window and forgets buckets that slide out', () => {
    const w = new TimeWindow({ windowMs: 1_000, buckets: 4 });
    expect(w.bucketMs).toBe(250);
    w.add(0, 1, 0);
    w.add(100, 1, 1);
    w.add(300, 2, 1);
    expect([w.totalA, w.totalB]).toEqual([4, 2]);
    w.advance(1_000); // bucket [0, 250) left the window
    expect([w.totalA, w.totalB]).toEqual([2, 1]);
    w.advance(10_000);
    expect([w.totalA, w.totalB]).toEqual([0, 0]);
  });

  it('treats a clock stepping back as standing still', () => {
    const w = new TimeWindow({ windowMs: 1_000, buckets: 4 });
    w.add(5_000, 1, 1);
    w.add(4_000, 1, 0); // lands in the current bucket
    expect([w.totalA, w.totalB]).toEqual([2, 1]);
  });

  it('bump rotates on its clock timer, and holds no timer once empty', () => {
    const clock = manualClock();
    const w = new TimeWindow({ windowMs: 100, buckets: 2, clock });
    w.bump(1, 1);
    expect(clock.pendingTimers).toBe(1);
    clock.advance(50);
    w.bump(1, 0);
    expect([w.totalA, w.totalB]).toEqual([2, 1]);
    clock.advance(50); // the first bucket left the window
    expect([w.totalA, w.totalB]).toEqual([1, 0]);
    clock.advance(200);
    expect([w.totalA, w.totalB]).toEqual([0, 0]);
    expect(clock.pendingTimers).toBe(0);
    w.clear();
    expect(() => new TimeWindow({ windowMs: 100, buckets: 2 }).bump(1, 0)).toThrow(
      InvalidArgumentError,
    );
  });

  it('subtract takes back from the bucket of a time still in the window, never below 0', () => {
    const w = new TimeWindow({ windowMs: 1_000, buckets: 4 });
    w.add(0, 2, 0);
    w.add(600, 1, 0);
    w.subtract(0, 1, 0);
    expect(w.totalA).toBe(2);
    w.subtract(600, 5, 5);
    expect([w.totalA, w.totalB]).toEqual([1, 0]);
    w.advance(1_100);
    w.subtract(0, 1, 0); // its bucket left the window: nothing to take back
    expect(w.totalA).toBe(0);
  });

  it('round-trips through a snapshot with absolute times, and ages it out on load', () => {
    const w = new TimeWindow({ windowMs: 1_000, buckets: 4 });
    w.add(10_000, 1, 0);
    w.add(10_600, 3, 2);
    const snapshot = JSON.parse(JSON.stringify(w.snapshot(10_600)));
    expect(snapshot).toEqual({
      kind: 'time',
      windowMs: 1_000,
      bucketCount: 4,
      bucketMs: 250,
      buckets: [
        { startMs: 10_000, a: 1, b: 0 },
        { startMs: 10_500, a: 3, b: 2 },
      ],
    });
    const same = new TimeWindow({ windowMs: 1_000, buckets: 4 });
    same.load(snapshot, { now: 10_600 });
    expect(same.snapshot(10_600)).toEqual(snapshot);
    const later = new TimeWindow({ windowMs: 1_000, buckets: 4 });
    later.load(snapshot, { now: 11_100 });
    expect([later.totalA, later.totalB]).toEqual([3, 2]);
    expect(w.snapshot(11_100).buckets).toEqual([{ startMs: 10_500, a: 3, b: 2 }]);
  });

  it('refuses another geometry, future or misaligned buckets, naming the field', () => {
    const w = new TimeWindow({ windowMs: 1_000, buckets: 4 });
    w.add(10_000, 1, 0);
    const snapshot = w.snapshot();
    const other = new TimeWindow({ windowMs: 2_000, buckets: 4 });
    expect(issuesOf(() => other.load(snapshot, { path: 'restore.window', now: 10_000 }))).toEqual([
      'restore.window.windowMs',
      'restore.window.bucketMs',
    ]);
    const fresh = new TimeWindow({ windowMs: 1_000, buckets: 4 });
    expect(issuesOf(() => fresh.load(snapshot, { now: 9_000 }))).toEqual([
      'window.buckets.0.startMs',
    ]);
    expect(
      issuesOf(() =>
        fresh.load({ ...snapshot, buckets: [{ startMs: 10_001, a: 1, b: 0 }] }, { now: 20_000 }),
      ),
    ).toEqual(['window.buckets.0.startMs']);
    expect(issuesOf(() => fresh.load({ ...snapshot, kind: 'count' }))).toEqual(['window.kind']);
    expect(issuesOf(() => fresh.load({ ...snapshot, extra: 1 }))).toEqual(['window']);
    expect(fresh.totalA).toBe(0); // a refused load changes nothing
  });

  it('keeps totals equal to a brute-force sum (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.array(fc.record({ dt: fc.integer({ min: 0, max: 400 }), a: fc.nat(5), b: fc.nat(5) }), {
          maxLength: 60,
        }),
        (buckets, events) => {
          const windowMs = 100 * buckets;
          const w = new TimeWindow({ windowMs, buckets });
          const seen: Array<{ at: number; a: number; b: number }> = [];
          let now = 0;
          for (const e of events) {
            now += e.dt;
            w.add(now, e.a, e.b);
            seen.push({ at: now, a: e.a, b: e.b });
            const oldest = (Math.floor(now / 100) - buckets + 1) * 100;
            const inWindow = seen.filter((s) => s.at >= oldest);
            expect(w.totalA).toBe(inWindow.reduce((n, s) => n + s.a, 0));
            expect(w.totalB).toBe(inWindow.reduce((n, s) => n + s.b, 0));
          }
        },
      ),
    );
  });
});

describe('CountWindow', () => {
  it('holds the last size outcomes', () => {
    const w = new CountWindow({ size: 3 });
    for (const o of [true, true, false, false]) w.push(o);
    expect([w.filled, w.ones]).toEqual([3, 1]);
    expect(w.toJSON()).toEqual({ kind: 'count', size: 3, outcomes: [1, 0, 0] });
    w.clear();
    expect([w.filled, w.ones]).toEqual([0, 0]);
  });

  it('round-trips, and refuses another size or too many outcomes', () => {
    const w = new CountWindow({ size: 3 });
    w.push(true);
    const snapshot = JSON.parse(JSON.stringify(w));
    const same = new CountWindow({ size: 3 });
    same.load(snapshot);
    expect(same.toJSON()).toEqual(snapshot);
    expect(issuesOf(() => new CountWindow({ size: 4 }).load(snapshot, { path: 'w' }))).toEqual([
      'w.size',
    ]);
    expect(issuesOf(() => same.load({ ...snapshot, outcomes: [1, 1, 1, 1] }))).toEqual([
      'window.outcomes',
    ]);
    expect(issuesOf(() => same.load({ ...snapshot, outcomes: [2] }))).toEqual([
      'window.outcomes.0',
    ]);
    expect(same.ones).toBe(1);
    expect(issuesOf(() => new CountWindow({ size: 0 }))).toEqual(['size']);
  });
});

describe('DecayingMean', () => {
  it('has no start-up bias: the first sample is the value', () => {
    const m = DecayingMean.of({ halfLifeCalls: 10 });
    expect(m.value).toBeUndefined();
    m.add(42);
    expect(m.value).toBe(42);
    expect(m.count).toBe(1);
  });

  it('halves a sample weight after halfLifeCalls later samples', () => {
    const m = DecayingMean.of({ halfLifeCalls: 1 });
    m.add(0);
    m.add(3); // weights 0.5 and 1: (0 * 0.5 + 3) / 1.5
    expect(m.value).toBeCloseTo(2);
  });

  it('decays by time with halfLifeMs, and averages samples of the same millisecond', () => {
    const m = DecayingMean.of({ halfLifeMs: 100 });
    m.add(10, 1_000);
    m.add(20, 1_000);
    expect(m.value).toBeCloseTo(15);
    const t = DecayingMean.of({ halfLifeMs: 100 });
    t.add(0, 0);
    t.add(3, 100); // weight of the first halved
    expect(t.value).toBeCloseTo(2);
    t.add(3, 50); // a clock stepping back counts as no time passing
    expect(t.value).toBeCloseTo((0 * 0.5 + 3 + 3) / 2.5);
  });

  it('takes a raw alpha', () => {
    const m = new DecayingMean({ alpha: 0.5 });
    m.add(0);
    m.add(4); // keep 0.5: (0 * 0.5 + 4) / 1.5
    expect(m.value).toBeCloseTo(8 / 3);
    m.reset();
    expect([m.value, m.count]).toEqual([undefined, 0]);
  });

  it('refuses a malformed decay', () => {
    expect(() => DecayingMean.of({ alpha: 1 })).toThrow(InvalidOptionsError);
    expect(() => DecayingMean.of({ halfLifeCalls: 1, alpha: 0.5 } as never)).toThrow(
      InvalidOptionsError,
    );
    expect(() => DecayingMean.of({ halfLifeMs: -1 })).toThrow(InvalidOptionsError);
    expect(() => DecayingMean.of({} as never)).toThrow(InvalidOptionsError);
    expect(() => DecayingMean.of({ halfLifeCals: 10 } as never)).toThrow(/halfLifeCals/);
  });
});
