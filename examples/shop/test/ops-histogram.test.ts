// The ops page's histogram arithmetic (public/js/histogram.js), run in Node.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

type Buckets = Array<[number | null, number]>;
const { quantile, bucketDelta } = (await import('../public/js/histogram.js' as string)) as {
  quantile(buckets: Buckets, q: number): number | null;
  bucketDelta(now: { buckets: Buckets }, before?: { buckets: Buckets }): Buckets;
};

const BOUNDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, null] as const;
/** Cumulative buckets of `values`, as the ops feed sends them. */
const cumulative = (values: number[]): Buckets =>
  BOUNDS.map((b) => [b, values.filter((v) => b === null || v <= b).length]);

describe('ops page histograms', () => {
  it('has no quantile without observations', () => {
    expect(quantile(bucketDelta({ buckets: cumulative([]) }), 0.5)).toBeNull();
  });

  it('interpolates inside the bucket holding the rank', () => {
    // 4 observations in (0.05, 0.1]: the median is halfway through that bucket.
    const delta = bucketDelta({ buckets: cumulative([0.06, 0.07, 0.08, 0.09]) });
    expect(quantile(delta, 0.5)).toBeCloseTo(0.075);
  });

  it('counts only what arrived between two polls', () => {
    const before = { buckets: cumulative([0.001, 0.001, 0.001]) };
    const now = { buckets: cumulative([0.001, 0.001, 0.001, 0.3, 0.4]) };
    const delta = bucketDelta(now, before);
    expect(delta.reduce((n, [, c]) => n + c, 0)).toBe(2);
    expect(quantile(delta, 0.99)).toBeGreaterThan(0.25);
  });

  it('puts every quantile in the bucket of the true quantile (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 2, noNaN: true }), { minLength: 1, maxLength: 200 }),
        fc.constantFrom(0.5, 0.9, 0.95, 0.99),
        (values, q) => {
          const sorted = [...values].sort((a, b) => a - b);
          const truth = sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]!;
          const got = quantile(bucketDelta({ buckets: cumulative(values) }), q)!;
          const i = BOUNDS.findIndex((b) => b === null || truth <= b);
          const upper = BOUNDS[i] ?? null;
          const lower = i === 0 ? 0 : (BOUNDS[i - 1] as number);
          expect(got).toBeGreaterThanOrEqual(lower - 1e-12);
          if (upper !== null) expect(got).toBeLessThanOrEqual(upper + 1e-12);
          else expect(got).toBe(lower); // beyond the last finite bound: that bound
        },
      ),
    );
  });
});
