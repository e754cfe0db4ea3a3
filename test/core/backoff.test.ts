import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { constant, exponential, InvalidOptionsError } from '../../src/core/index.js';

describe('constant', () => {
  it('returns the same delay for every attempt, default 100 ms', () => {
    expect(constant().delayMs(1)).toBe(100);
    expect(constant({ delayMs: 7 }).delayMs(99)).toBe(7);
  });

  it('rejects a negative delay', () => {
    expect(() => constant({ delayMs: -1 })).toThrow(InvalidOptionsError);
  });
});

describe('exponential', () => {
  it('grows by factor and caps without jitter', () => {
    const b = exponential({ initialMs: 100, factor: 2, maxMs: 1_000, jitter: 'none' });
    expect([1, 2, 3, 4, 5, 6].map((a) => b.delayMs(a))).toEqual([100, 200, 400, 800, 1000, 1000]);
  });

  it('full jitter scales the capped delay by random()', () => {
    const b = exponential({ initialMs: 100, jitter: 'full', random: () => 0.5 });
    expect(b.delayMs(3)).toBe(200);
  });

  it('equal jitter never goes below half the capped delay', () => {
    const low = exponential({ initialMs: 100, jitter: 'equal', random: () => 0 });
    const high = exponential({ initialMs: 100, jitter: 'equal', random: () => 0.999999 });
    expect(low.delayMs(2)).toBe(100);
    expect(high.delayMs(2)).toBeCloseTo(200, 3);
  });

  it('decorrelated jitter grows from the previous delay and respects the cap', () => {
    const b = exponential({
      initialMs: 100,
      maxMs: 1_000,
      jitter: 'decorrelated',
      random: () => 1,
    });
    expect(b.delayMs(1, 0)).toBe(100);
    expect(b.delayMs(2, 100)).toBe(300);
    expect(b.delayMs(3, 300)).toBe(900);
    expect(b.delayMs(4, 900)).toBe(1000);
  });

  it('every jitter mode stays within [0, maxMs] for any attempt and random value', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('none', 'full', 'equal', 'decorrelated' as const),
        fc.integer({ min: 1, max: 200 }),
        fc.double({ min: 0, max: 0.999999, noNaN: true }),
        fc.double({ min: 0, max: 10_000, noNaN: true }),
        (jitter, attempt, r, previous) => {
          const b = exponential({ initialMs: 10, maxMs: 5_000, jitter, random: () => r });
          const d = b.delayMs(attempt, previous);
          return d >= 0 && d <= 5_000 && Number.isFinite(d);
        },
      ),
    );
  });

  it('rejects bad options naming each field', () => {
    try {
      exponential({ initialMs: 0, factor: 0.5, maxMs: -1 });
      expect.unreachable();
    } catch (err) {
      expect((err as InvalidOptionsError).code).toBe('INVALID_OPTIONS');
      expect((err as InvalidOptionsError).issues.map((i) => i.path)).toEqual([
        'initialMs',
        'factor',
        'maxMs',
      ]);
    }
    expect(() => exponential({ initialMs: 500, maxMs: 100 })).toThrow(
      /maxMs: must be >= initialMs/,
    );
    // @ts-expect-error unknown jitter mode
    expect(() => exponential({ jitter: 'wild' })).toThrow(InvalidOptionsError);
  });

  it('rejects a bad attempt number', () => {
    const b = exponential();
    expect(() => b.delayMs(0)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => b.delayMs(1.5)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});

describe('strict backoff options (regression: misspelt options were dropped)', () => {
  it('constant refuses an unknown option, naming it', () => {
    expect(() => constant({ delayMS: 5 } as never)).toThrow(
      expect.objectContaining({
        code: 'INVALID_OPTIONS',
        message: expect.stringContaining('delayMS'),
      }),
    );
  });
  it('exponential refuses an unknown option, naming it', () => {
    expect(() => exponential({ intialMs: 5 } as never)).toThrow(
      expect.objectContaining({
        code: 'INVALID_OPTIONS',
        message: expect.stringContaining('intialMs'),
      }),
    );
  });
});
