// The adaptive chunk size: bounded, moving toward the target time, at most x2 per step.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ChunkSizer } from '../../src/migrator/chunk-size.js';

describe('ChunkSizer', () => {
  it('stays within [min, max] and changes by at most x2 per chunk', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1000 }),
        fc.integer({ min: 1, max: 100_000 }),
        fc.integer({ min: 1, max: 200_000 }),
        fc.integer({ min: 1, max: 5000 }),
        fc.array(fc.tuple(fc.nat(200_000), fc.nat(100_000)), { maxLength: 50 }),
        (min, span, initial, targetMs, chunks) => {
          const max = min + span;
          const sizer = new ChunkSizer({ initial, min, max, targetMs });
          expect(sizer.size).toBeGreaterThanOrEqual(min);
          expect(sizer.size).toBeLessThanOrEqual(max);
          for (const [rows, durationMs] of chunks) {
            const before = sizer.size;
            sizer.observe(rows, durationMs);
            expect(sizer.size).toBeGreaterThanOrEqual(min);
            expect(sizer.size).toBeLessThanOrEqual(max);
            expect(sizer.size).toBeLessThanOrEqual(Math.max(min, Math.round(before * 2)));
            expect(sizer.size).toBeGreaterThanOrEqual(Math.min(max, Math.round(before / 2)));
          }
        },
      ),
    );
  });

  it('converges on the size that meets the target when time grows linearly with rows', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 10, max: 100_000 }),
        fc.double({ min: 0.001, max: 1, noNaN: true }),
        fc.integer({ min: 20, max: 2000 }),
        (initial, msPerRow, targetMs) => {
          const sizer = new ChunkSizer({ initial, min: 10, max: 1_000_000, targetMs });
          for (let i = 0; i < 40; i++) sizer.observe(sizer.size, sizer.size * msPerRow);
          const ideal = Math.min(1_000_000, Math.max(10, targetMs / msPerRow));
          expect(Math.abs(sizer.size - ideal)).toBeLessThanOrEqual(Math.max(2, ideal * 0.01));
        },
      ),
    );
  });

  it('never changes without a target, and ignores short (end of table) chunks', () => {
    const fixed = new ChunkSizer({ initial: 500, min: 1, max: 1000 });
    fixed.observe(500, 1_000_000);
    expect(fixed.size).toBe(500);
    const adaptive = new ChunkSizer({ initial: 500, min: 1, max: 1000, targetMs: 100 });
    adaptive.observe(10, 10_000);
    expect(adaptive.size).toBe(500);
    adaptive.observe(500, 10_000);
    expect(adaptive.size).toBe(250);
  });
});
