// The memory hot path reads systemClock once per microtask checkpoint (batch-now.ts).
import { describe, expect, it, vi } from 'vitest';
import { manualClock } from '../../src/core/index.js';
import { fixedWindow, tokenBucket } from '../../src/ratelimit/index.js';

describe('memory decisions on systemClock read the clock once per microtask checkpoint', () => {
  it('calls in one checkpoint share a reading; the next checkpoint sees time move', async () => {
    vi.useFakeTimers({ now: 1_700_000_000_000 });
    try {
      const limiter = fixedWindow({ limit: 2, windowMs: 1_000 });
      const [a, b, c] = await Promise.all([
        limiter.limit('k'),
        limiter.limit('k'),
        limiter.limit('k'),
      ]);
      expect([a.allowed, b.allowed, c.allowed]).toEqual([true, true, false]);
      expect(c.retryAfterMs).toBe(1_000);
      await vi.advanceTimersByTimeAsync(400);
      expect((await limiter.limit('k')).retryAfterMs).toBe(600);
      await vi.advanceTimersByTimeAsync(600);
      expect(await limiter.limit('k')).toMatchObject({ allowed: true, remaining: 1 });
    } finally {
      vi.useRealTimers();
    }
  });

  it('time read synchronously after a clock jump, in a later checkpoint, is fresh', async () => {
    vi.useFakeTimers({ now: 1_700_000_000_000 });
    try {
      const limiter = tokenBucket({ capacity: 1, refillPerSec: 1 });
      expect((await limiter.limit('k')).allowed).toBe(true);
      vi.setSystemTime(1_700_000_000_000 + 1_000);
      await Promise.resolve(); // a new checkpoint
      expect((await limiter.limit('k')).allowed).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });

  it('an injected clock is read on every decision', async () => {
    const clock = manualClock(1_700_000_000_000);
    const limiter = fixedWindow({ limit: 1, windowMs: 1_000, clock });
    expect((await limiter.limit('k')).allowed).toBe(true);
    clock.advance(1_000);
    expect((await limiter.limit('k')).allowed).toBe(true);
  });
});
