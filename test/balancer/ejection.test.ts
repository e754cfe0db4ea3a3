import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { roundRobin, smoothWeightedRoundRobin, withEjection } from '../../src/balancer/index.js';
import { manualClock } from '../../src/core/index.js';
import { inst, many } from './fixtures.js';

const fail = { ok: false, latencyMs: 1 };
const ok = { ok: true, latencyMs: 1 };

describe('withEjection', () => {
  it('ejects after N consecutive failures, for a backoff that doubles, and restores', () => {
    const clock = manualClock();
    const p = withEjection(roundRobin(), {
      consecutiveFailures: 3,
      baseEjectionMs: 1_000,
      maxEjectionMs: 3_000,
      clock,
    });
    const events: string[] = [];
    p.events.on('ejected', (e) =>
      events.push(`ejected ${e.instance.id} ${e.forMs} #${e.ejections}`),
    );
    p.events.on('restored', (e) => events.push(`restored ${e.instance.id} after ${e.ejectedMs}`));
    const a = inst('i0');
    p.update(many(3));
    p.report(a, fail);
    p.report(a, fail);
    p.report(a, ok); // resets the run
    p.report(a, fail);
    p.report(a, fail);
    expect(p.ejected()).toEqual([]);
    p.report(a, fail);
    expect(p.ejected().map((i) => i.id)).toEqual(['i0']);
    const seen = new Set(Array.from({ length: 6 }, () => p.pick()?.id));
    expect(seen).toEqual(new Set(['i1', 'i2']));
    clock.advance(999);
    p.pick();
    expect(p.ejected()).toHaveLength(1);
    clock.advance(1);
    p.pick();
    expect(p.ejected()).toEqual([]);
    // second ejection: 2 s; third: capped at 3 s
    for (let k = 0; k < 3; k++) p.report(a, fail);
    clock.advance(2_000);
    p.pick();
    for (let k = 0; k < 3; k++) p.report(a, fail);
    clock.advance(3_000);
    p.pick();
    expect(events).toEqual([
      'ejected i0 1000 #1',
      'restored i0 after 1000',
      'ejected i0 2000 #2',
      'restored i0 after 2000',
      'ejected i0 3000 #3',
      'restored i0 after 3000',
    ]);
  });

  it('forgets past ejections after staying healthy for maxEjectionMs', () => {
    const clock = manualClock();
    const p = withEjection(roundRobin(), {
      consecutiveFailures: 1,
      baseEjectionMs: 100,
      maxEjectionMs: 1_000,
      clock,
    });
    const lengths: number[] = [];
    p.events.on('ejected', (e) => lengths.push(e.forMs));
    const a = inst('i0');
    p.update(many(2));
    p.report(a, fail);
    clock.advance(100);
    p.pick();
    p.report(a, fail);
    clock.advance(200);
    p.pick();
    clock.advance(1_000);
    p.report(a, fail);
    expect(lengths).toEqual([100, 200, 100]);
  });

  it('caps ejections at maxEjectionPercent and always leaves one instance', () => {
    const clock = manualClock();
    const p = withEjection(roundRobin(), {
      consecutiveFailures: 1,
      maxEjectionPercent: 100,
      clock,
    });
    const capped: string[] = [];
    p.events.on('ejectionCapped', (e) => capped.push(e.instance.id));
    p.update(many(3));
    for (let i = 0; i < 3; i++) p.report(inst(`i${i}`), fail);
    expect(p.ejected().map((i) => i.id)).toEqual(['i0', 'i1']);
    expect(capped).toEqual(['i2']);
    expect(p.pick()?.id).toBe('i2');

    const q = withEjection(roundRobin(), { consecutiveFailures: 1, maxEjectionPercent: 10, clock });
    q.update(many(3)); // floor(0.3) = 0, but at least one may go
    q.report(inst('i0'), fail);
    q.report(inst('i1'), fail);
    expect(q.ejected().map((i) => i.id)).toEqual(['i0']);
    const none = withEjection(roundRobin(), {
      consecutiveFailures: 1,
      maxEjectionPercent: 0,
      clock,
    });
    none.update(many(3));
    none.report(inst('i0'), fail);
    expect(none.ejected()).toEqual([]);
  });

  it('never exceeds the cap nor leaves nothing to pick (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 100 }),
        fc.array(
          fc.oneof(
            fc.record({ op: fc.constant('report' as const), i: fc.nat(9), ok: fc.boolean() }),
            fc.record({
              op: fc.constant('advance' as const),
              ms: fc.integer({ min: 1, max: 5_000 }),
            }),
            fc.record({ op: fc.constant('resize' as const), n: fc.integer({ min: 1, max: 10 }) }),
          ),
          { maxLength: 120 },
        ),
        (percent, ops) => {
          const clock = manualClock();
          const p = withEjection(smoothWeightedRoundRobin(), {
            consecutiveFailures: 2,
            baseEjectionMs: 500,
            maxEjectionMs: 4_000,
            maxEjectionPercent: percent,
            clock,
          });
          let n = 10;
          p.update(many(n));
          for (const op of ops) {
            if (op.op === 'report') p.report(inst(`i${op.i % n}`), op.ok ? ok : fail);
            else if (op.op === 'advance') clock.advance(op.ms);
            else {
              n = op.n;
              p.update(many(n));
            }
            const limit =
              percent === 0 ? 0 : Math.min(n - 1, Math.max(1, Math.floor((n * percent) / 100)));
            expect(p.ejected().length).toBeLessThanOrEqual(limit);
            const picked = p.pick();
            expect(picked).toBeDefined();
            expect(p.ejected().some((e) => e.id === picked?.id)).toBe(false);
          }
        },
      ),
    );
  });

  it('ignores cancelled calls and reports of unknown instances, and forwards start', () => {
    const p = withEjection(roundRobin(), { consecutiveFailures: 1 });
    p.update(many(2));
    p.report(inst('i0'), { ok: false, latencyMs: 1, cancelled: true });
    p.report(inst('zz'), fail);
    p.start(inst('i0'));
    expect(p.ejected()).toEqual([]);
    expect(p.kind).toBe('round_robin');
  });

  it('rejects bad options and a non-picker', () => {
    expect(() => withEjection(roundRobin(), { maxEjectionMs: 10, baseEjectionMs: 20 })).toThrow(
      /maxEjectionMs/,
    );
    expect(() => withEjection(roundRobin(), { consecutiveFailures: 0 })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS' }),
    );
    expect(() => withEjection({} as never)).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    const p = withEjection(roundRobin());
    p.update(many(2));
    expect(() => p.update('x' as never)).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    expect(() => p.update([inst('a'), inst('a')])).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    expect(p.pick()?.id).toBe('i0');
  });
});
