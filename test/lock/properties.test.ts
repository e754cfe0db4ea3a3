// Property tests of the lock state machine on the memory backend and a manual clock: in
// any interleaving of acquisitions, releases, renewals and time passing, no two handles
// of one key ever both believe they hold it, and fences only go up.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { manualClock } from '../../src/core/index.js';
import { type Lock, memoryLock } from '../../src/lock/index.js';

type Step =
  | { op: 'try'; key: number; ttlMs: number }
  | { op: 'release'; handle: number }
  | { op: 'extend'; handle: number }
  | { op: 'advance'; ms: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({
    op: fc.constant('try' as const),
    key: fc.nat(2),
    ttlMs: fc.integer({ min: 50, max: 1_000 }),
  }),
  fc.record({ op: fc.constant('release' as const), handle: fc.nat(20) }),
  fc.record({ op: fc.constant('extend' as const), handle: fc.nat(20) }),
  fc.record({ op: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 700 }) }),
);

describe('lock state machine (memory, manual clock)', () => {
  it('at most one handle per key is held, and fences strictly increase per key', async () => {
    await fc.assert(
      fc.asyncProperty(fc.boolean(), fc.array(step, { maxLength: 40 }), async (watchdog, steps) => {
        const clock = manualClock(0);
        const locker = memoryLock({ clock, watchdog: watchdog ? {} : false });
        const handles: Lock[] = [];
        const lastFence = new Map<string, number>();
        for (const s of steps) {
          if (s.op === 'try') {
            const key = `k${s.key}`;
            const lock = await locker.tryAcquire(key, { ttlMs: s.ttlMs });
            if (lock !== undefined) {
              expect(lock.fence).toBeGreaterThan(lastFence.get(key) ?? 0);
              lastFence.set(key, lock.fence);
              handles.push(lock);
            }
          } else if (s.op === 'release') {
            await handles[s.handle % Math.max(1, handles.length)]?.release();
          } else if (s.op === 'extend') {
            await handles[s.handle % Math.max(1, handles.length)]?.extend().catch(() => {});
          } else {
            await clock.advanceAsync(s.ms);
          }
          for (const key of ['k0', 'k1', 'k2']) {
            const held = handles.filter((h) => h.key === key && h.held);
            expect(held.length).toBeLessThanOrEqual(1);
            // A handle that is not held has an aborted signal, or was released.
            for (const h of handles) if (h.held) expect(h.signal.aborted).toBe(false);
          }
        }
        await locker.close();
        for (const h of handles) expect(h.held).toBe(false);
      }),
      { numRuns: 150 },
    );
  });
});
