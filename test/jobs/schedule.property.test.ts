// Properties of the fixed-rate interval schedule every job uses: the next run is the
// first slot strictly after the given time, slots are anchored, and no slot is skipped
// or repeated when runs follow one another.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { intervalSchedule } from '../../src/jobs/schedule.js';

describe('intervalSchedule', () => {
  it('next(t) is the first anchored slot strictly after t', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10_000_000 }),
        fc.integer({ min: -1e12, max: 1e12 }),
        fc.integer({ min: 0, max: 2e12 }),
        (everyMs, anchor, t) => {
          const next = intervalSchedule(everyMs, anchor).next(t) as number;
          expect(next).toBeGreaterThan(t);
          expect(next - t).toBeLessThanOrEqual(everyMs);
          expect((((next - anchor) % everyMs) + everyMs) % everyMs).toBe(0);
        },
      ),
    );
  });

  it('runs finishing within their slot visit every slot once, in order', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 100_000 }),
        fc.array(fc.double({ min: 0, max: 0.999, noNaN: true }), { minLength: 1, maxLength: 50 }),
        (everyMs, durations) => {
          const schedule = intervalSchedule(everyMs);
          let slot = schedule.next(0) as number;
          for (const fraction of durations) {
            // A run starts at its slot and ends before the next one is due.
            const end = slot + Math.floor(fraction * everyMs);
            const next = schedule.next(end) as number;
            expect(next).toBe(slot + everyMs);
            slot = next;
          }
        },
      ),
    );
  });
});
