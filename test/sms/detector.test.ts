// healthDetector on a manual clock: what trips it, what does not (where the course's
// "N consecutive timeouts" rule gets it wrong), and how it probes its way back up.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isGirderError, manualClock } from '../../src/core/index.js';
import { type HealthDetectorOptions, healthDetector } from '../../src/sms/index.js';

const make = (o: HealthDetectorOptions = {}) => {
  const clock = manualClock(1_000_000);
  const d = healthDetector({
    windowMs: 10_000,
    buckets: 10,
    minSamples: 10,
    errorRatio: 0.5,
    latencyFactor: 3,
    minLatencyMs: 100,
    probeEveryMs: 1_000,
    recoverAfter: 2,
    clock,
    ...o,
  });
  const downs: string[] = [];
  d.events.on('down', (e) => downs.push(e.reason));
  const feed = (ok: boolean, latencyMs = 50) => {
    expect(d.admit()).toBe('send');
    d.record({ ok, latencyMs, probe: false });
  };
  return { clock, d, downs, feed };
};

/** The course's rule, for comparison: down after `n` timeouts in a row. */
const consecutiveTimeouts = (n: number) => {
  let run = 0;
  let down = false;
  return {
    record(timedOut: boolean) {
      run = timedOut ? run + 1 : 0;
      if (run >= n) down = true;
    },
    get down() {
      return down;
    },
  };
};

describe('healthDetector', () => {
  it('never trips before minSamples calls, even if all failed', () => {
    const { d, feed } = make();
    for (let i = 0; i < 9; i++) feed(false);
    expect(d.state).toBe('up');
    feed(false);
    expect(d.state).toBe('down');
  });

  it('trips on the error ratio and reports it', () => {
    const { d, feed } = make();
    const events: unknown[] = [];
    d.events.on('down', (e) => events.push(e));
    for (let i = 0; i < 10; i++) feed(i % 2 === 0);
    expect(d.state).toBe('down');
    expect(events).toEqual([
      expect.objectContaining({ reason: 'errors', calls: 10, errorRatio: 0.5 }),
    ]);
  });

  it('forgets failures that left the window', () => {
    const { clock, d, feed } = make();
    for (let i = 0; i < 9; i++) feed(false);
    clock.advance(10_000);
    for (let i = 0; i < 9; i++) feed(true);
    feed(false);
    expect(d.stats()).toMatchObject({ calls: 10, errorRatio: 0.1 });
    expect(d.state).toBe('up');
  });

  it('trips on latency inflation against the slow baseline', () => {
    const { clock, d, downs, feed } = make();
    for (let i = 0; i < 30; i++) feed(true, 60);
    clock.advance(10_000); // the fast window forgets; the baseline remembers
    for (let i = 0; i < 9; i++) feed(true, 400);
    expect(d.state).toBe('up');
    feed(true, 400);
    expect(d.state).toBe('down');
    expect(downs).toEqual(['latency']);
  });

  it('does not call an inflation below minLatencyMs a crash', () => {
    const { clock, d, feed } = make({ minLatencyMs: 100 });
    for (let i = 0; i < 30; i++) feed(true, 5);
    clock.advance(10_000);
    for (let i = 0; i < 30; i++) feed(true, 60); // 12x, but only 60 ms
    expect(d.state).toBe('up');
  });

  it('a single slow burst: the consecutive rule trips, the detector does not', () => {
    const { clock, d, feed } = make({ minSamples: 20 });
    const course = consecutiveTimeouts(3);
    for (let i = 0; i < 100; i++) {
      clock.advance(50);
      const timedOut = i >= 40 && i < 44; // one GC pause / one congested second
      feed(!timedOut, timedOut ? 3_000 : 40);
      course.record(timedOut);
    }
    expect(course.down).toBe(true);
    expect(d.state).toBe('up');
  });

  it('partial failure: the detector trips, the consecutive rule never sees it', () => {
    const { clock, d, feed } = make({ minSamples: 20 });
    const course = consecutiveTimeouts(3);
    for (let i = 0; i < 100 && d.state === 'up'; i++) {
      clock.advance(50);
      const failed = i % 3 !== 0; // two of three fail, never three in a row
      feed(!failed, failed ? 3_000 : 40);
      course.record(failed);
    }
    expect(d.state).toBe('down');
    expect(course.down).toBe(false);
  });

  it('probes once per probeEveryMs while down and recovers after good probes', () => {
    const { clock, d, feed } = make();
    const ups: number[] = [];
    d.events.on('up', (e) => ups.push(e.downForMs));
    for (let i = 0; i < 10; i++) feed(false);
    expect(d.admit()).toBe('queue');
    clock.advance(999);
    expect(d.admit()).toBe('queue');
    clock.advance(1);
    expect(d.admit()).toBe('probe');
    expect(d.admit()).toBe('queue');
    d.record({ ok: true, latencyMs: 40, probe: true });
    expect(d.state).toBe('down');
    clock.advance(1_000);
    expect(d.admit()).toBe('probe');
    d.record({ ok: false, latencyMs: 40, probe: true }); // resets the good run
    clock.advance(1_000);
    d.admit();
    d.record({ ok: true, latencyMs: 40, probe: true });
    clock.advance(1_000);
    d.admit();
    d.record({ ok: true, latencyMs: 40, probe: true });
    expect(d.state).toBe('up');
    expect(ups).toEqual([4_000]);
    expect(d.stats().calls).toBe(0); // a fresh window
    expect(d.admit()).toBe('send');
  });

  it('a slow probe is not a healthy one', () => {
    const { clock, d, feed } = make({ recoverAfter: 1 });
    for (let i = 0; i < 20; i++) feed(true, 60);
    for (let i = 0; i < 20; i++) feed(false);
    expect(d.state).toBe('down');
    clock.advance(1_000);
    d.admit();
    d.record({ ok: true, latencyMs: 900, probe: true });
    expect(d.state).toBe('down');
  });

  it('ignores non-probe samples while down and probe samples while up', () => {
    const { d, feed } = make();
    d.record({ ok: false, latencyMs: 1, probe: true });
    expect(d.stats().calls).toBe(0);
    for (let i = 0; i < 10; i++) feed(false);
    d.record({ ok: true, latencyMs: 1, probe: false });
    expect(d.state).toBe('down');
  });

  it('refuses bad options with INVALID_OPTIONS naming them', () => {
    for (const bad of [
      { errorRatio: 0 },
      { errorRatio: 1.5 },
      { latencyFactor: 1 },
      { minSamples: 0 },
      { probeEveryMs: 0 },
      { buckets: 0.5 },
      { recoverAfter: 0 },
      { zzTypo: 1 },
    ]) {
      let error: unknown;
      try {
        healthDetector(bad as never);
      } catch (e) {
        error = e;
      }
      expect(isGirderError(error, 'INVALID_OPTIONS')).toBe(true);
      expect((error as Error).message).toContain(Object.keys(bad)[0]);
    }
  });

  it('property: steady latency and no failures never trip it', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 5_000 }), fc.integer({ min: 1, max: 5 })), {
          maxLength: 200,
        }),
        fc.integer({ min: 0, max: 10_000 }),
        (steps, latencyMs) => {
          const { clock, d } = make();
          for (const [dt, n] of steps) {
            clock.advance(dt);
            for (let i = 0; i < n; i++) d.record({ ok: true, latencyMs, probe: false });
          }
          return d.state === 'up';
        },
      ),
    );
  });

  it('property: fewer than minSamples calls in the window never trip it', () => {
    fc.assert(
      fc.property(fc.array(fc.boolean(), { maxLength: 9 }), (oks) => {
        const { d } = make();
        for (const ok of oks) d.record({ ok, latencyMs: 10_000, probe: false });
        return d.state === 'up';
      }),
    );
  });

  it('property: while down, at most one probe per probeEveryMs, and one in every interval asked', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 2_500 }), { maxLength: 300 }), (gaps) => {
        const { clock, d } = make();
        for (let i = 0; i < 10; i++) d.record({ ok: false, latencyMs: 1, probe: false });
        const start = clock.now();
        const probes: number[] = [];
        for (const gap of gaps) {
          clock.advance(gap);
          if (d.admit() === 'probe') probes.push(clock.now());
        }
        const elapsed = clock.now() - start;
        for (let i = 1; i < probes.length; i++) {
          if (probes[i]! - probes[i - 1]! < 1_000) return false;
        }
        return probes.length <= Math.floor(elapsed / 1_000) && d.state === 'down';
      }),
    );
  });
});
