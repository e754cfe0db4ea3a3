import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { manualClock } from '../../src/core/index.js';
import {
  concurrencyLimit,
  fixedWindow,
  leakyBucket,
  slidingWindow,
  slidingWindowLog,
  tokenBucket,
} from '../../src/ratelimit/index.js';

const T0 = 1_700_000_000_000;

describe('fixedWindow', () => {
  it('opens a window at the first call and resets it windowMs later', async () => {
    const clock = manualClock(T0 + 123);
    const limiter = fixedWindow({ limit: 2, windowMs: 1_000, clock });
    expect(await limiter.limit('k')).toEqual({
      allowed: true,
      limit: 2,
      remaining: 1,
      resetAfterMs: 1_000,
      retryAfterMs: 0,
      delayMs: 0,
    });
    clock.advance(400);
    expect((await limiter.limit('k')).resetAfterMs).toBe(600);
    const denied = await limiter.limit('k');
    expect(denied).toMatchObject({ allowed: false, remaining: 0, retryAfterMs: 600 });
    clock.advance(599);
    expect((await limiter.limit('k')).allowed).toBe(false);
    clock.advance(1);
    expect(await limiter.limit('k')).toMatchObject({ allowed: true, remaining: 1 });
  });

  it('does not charge a denied call, so a smaller one still fits', async () => {
    const clock = manualClock(T0);
    const limiter = fixedWindow({ limit: 5, windowMs: 1_000, clock });
    await limiter.limit('k', { cost: 3 });
    expect((await limiter.limit('k', { cost: 3 })).allowed).toBe(false);
    expect(await limiter.limit('k', { cost: 2 })).toMatchObject({ allowed: true, remaining: 0 });
  });
});

describe('slidingWindowLog', () => {
  it('never admits more than limit in any window and admits whatever fits (model check)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 500 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 1, max: 3 })), {
          maxLength: 60,
        }),
        async (limit, windowMs, steps) => {
          const clock = manualClock(T0);
          const limiter = slidingWindowLog({ limit, windowMs, clock });
          const log: number[] = []; // reference model: admitted unit timestamps
          for (const [gap, rawCost] of steps) {
            clock.advance(gap);
            const cost = Math.min(rawCost, limit);
            const now = clock.now();
            const inWindow = log.filter((t) => t > now - windowMs).length;
            const expected = inWindow + cost <= limit;
            const d = await limiter.limit('k', { cost });
            expect(d.allowed).toBe(expected);
            if (expected) for (let i = 0; i < cost; i++) log.push(now);
            if (!expected) {
              // After retryAfterMs enough entries have aged out for this cost.
              const later = now + d.retryAfterMs;
              expect(log.filter((t) => t > later - windowMs).length + cost).toBeLessThanOrEqual(
                limit,
              );
            }
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('slidingWindow (approximate)', () => {
  it('weights the previous window by the part of it still inside the sliding window', async () => {
    const clock = manualClock(T0); // T0 is a multiple of 1 000
    const limiter = slidingWindow({ limit: 10, windowMs: 1_000, clock });
    await limiter.limit('k', { cost: 8 });
    clock.advance(1_250); // 25% into the next window: estimate = 8 x 0.75 = 6
    expect(await limiter.peek('k')).toMatchObject({ allowed: true, remaining: 4 });
    expect((await limiter.limit('k', { cost: 4 })).allowed).toBe(true);
    const denied = await limiter.limit('k', { cost: 1 });
    expect(denied.allowed).toBe(false);
    // 8 x (1 - f) + 4 + 1 <= 10 once f >= 0.375: 125 ms later.
    expect(denied.retryAfterMs).toBe(125);
    clock.advance(125);
    expect((await limiter.limit('k')).allowed).toBe(true);
  });

  it('stays under 2 x limit in any window, and under limit x (1 + f) (documented bound)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 20 }),
        fc.array(fc.integer({ min: 0, max: 120 }), { minLength: 1, maxLength: 200 }),
        async (limit, gaps) => {
          const windowMs = 1_000;
          const clock = manualClock(T0);
          const limiter = slidingWindow({ limit, windowMs, clock });
          const admitted: number[] = [];
          for (const gap of gaps) {
            clock.advance(gap);
            if ((await limiter.limit('k')).allowed) admitted.push(clock.now());
          }
          for (const end of admitted) {
            const count = admitted.filter((t) => t > end - windowMs && t <= end).length;
            const f = (end % windowMs) / windowMs;
            expect(count).toBeLessThan(2 * limit + 1);
            expect(count).toBeLessThanOrEqual(Math.floor(limit * (1 + f)) + 1);
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('tokenBucket', () => {
  it('bursts to capacity, then refills at refillPerSec', async () => {
    const clock = manualClock(T0);
    const limiter = tokenBucket({ capacity: 3, refillPerSec: 2, clock });
    for (let i = 0; i < 3; i++) expect((await limiter.limit('k')).allowed).toBe(true);
    const denied = await limiter.limit('k');
    expect(denied).toMatchObject({
      allowed: false,
      remaining: 0,
      retryAfterMs: 500,
      resetAfterMs: 1_500,
    });
    clock.advance(500);
    expect(await limiter.limit('k')).toMatchObject({ allowed: true, remaining: 0 });
    clock.advance(10_000);
    expect(await limiter.peek('k')).toMatchObject({ remaining: 3, resetAfterMs: 0 });
  });

  it('accepts fractional costs and matches a floating-point token model', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.tuple(
            fc.integer({ min: 0, max: 2_000 }),
            fc.double({ min: 0.1, max: 4, noNaN: true }),
          ),
          { maxLength: 50 },
        ),
        async (steps) => {
          const clock = manualClock(T0);
          const capacity = 4;
          const rate = 3;
          const limiter = tokenBucket({ capacity, refillPerSec: rate, clock });
          let tokens = capacity;
          for (const [gap, cost] of steps) {
            clock.advance(gap);
            tokens = Math.min(capacity, tokens + (gap * rate) / 1000);
            const d = await limiter.limit('k', { cost });
            // Skip razor-thin cases where float rounding legitimately decides.
            if (Math.abs(tokens - cost) < 1e-6) {
              if (d.allowed) tokens -= cost;
              continue;
            }
            expect(d.allowed).toBe(tokens >= cost);
            if (d.allowed) tokens -= cost;
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('does not lose a token to float rounding (3 x 1/3 s refills exactly 1 token/s)', async () => {
    const clock = manualClock(T0);
    const limiter = tokenBucket({ capacity: 3, refillPerSec: 3, clock });
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 3; i++) expect((await limiter.limit('k')).allowed).toBe(true);
      expect((await limiter.limit('k')).allowed).toBe(false);
      clock.advance(1_000);
    }
  });
});

describe('leakyBucket (pacing)', () => {
  it('spaces calls evenly and tells each when its turn is', async () => {
    const clock = manualClock(T0);
    const limiter = leakyBucket({ ratePerSec: 10, maxQueueMs: 300, clock });
    expect(limiter.policy).toMatchObject({ quota: 4, windowMs: 400 });
    const delays = [];
    for (let i = 0; i < 4; i++) delays.push((await limiter.limit('k')).delayMs);
    expect(delays).toEqual([0, 100, 200, 300]);
    const denied = await limiter.limit('k');
    expect(denied).toMatchObject({ allowed: false, retryAfterMs: 100, resetAfterMs: 400 });
    clock.advance(100);
    expect(await limiter.limit('k')).toMatchObject({ allowed: true, delayMs: 300 });
  });

  it('wait sleeps until the turn and never reserves a turn it will not wait for', async () => {
    const clock = manualClock(T0);
    const limiter = leakyBucket({ ratePerSec: 10, maxQueueMs: 1_000, clock });
    await limiter.limit('k');
    await limiter.limit('k'); // next turn is 200 ms away
    await expect(limiter.wait('k', { maxWaitMs: 150 })).rejects.toMatchObject({
      code: 'RATE_LIMITED',
    });
    expect((await limiter.peek('k')).delayMs).toBe(200); // nothing reserved
    let done = false;
    const waiting = limiter.wait('k').then((d) => {
      done = true;
      return d;
    });
    await clock.advanceAsync(199);
    expect(done).toBe(false);
    await clock.advanceAsync(1);
    expect(await waiting).toMatchObject({ allowed: true, delayMs: 200 });
  });
});

describe('wait and cancellation', () => {
  it('wait rejects with ABORTED when its signal fires, and consumes nothing', async () => {
    const clock = manualClock(T0);
    const limiter = fixedWindow({ limit: 1, windowMs: 60_000, clock });
    await limiter.limit('k');
    const controller = new AbortController();
    const waiting = limiter.wait('k', { signal: controller.signal });
    await clock.advanceAsync(1_000);
    controller.abort(new Error('client went away'));
    await expect(waiting).rejects.toMatchObject({ code: 'ABORTED' });
    await expect(limiter.wait('k', { signal: AbortSignal.abort() })).rejects.toMatchObject({
      code: 'ABORTED',
    });
    clock.advance(59_000);
    expect(await limiter.limit('k')).toMatchObject({ allowed: true, remaining: 0 });
  });

  it('acquire on a concurrency limiter honours its signal too', async () => {
    const limiter = concurrencyLimit({ max: 1, clock: manualClock(T0) });
    const held = await limiter.acquire('k');
    const controller = new AbortController();
    const waiting = limiter.acquire('k', { signal: controller.signal });
    controller.abort();
    await expect(waiting).rejects.toMatchObject({ code: 'ABORTED' });
    await held.release();
    expect((await limiter.peek('k')).remaining).toBe(1);
  });

  it('wait validates maxWaitMs', async () => {
    const limiter = tokenBucket({ capacity: 1, refillPerSec: 1 });
    await expect(limiter.wait('k', { maxWaitMs: -1 })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
  });
});

describe('concurrencyLimit', () => {
  it('release is safe to call twice and frees exactly its slots', async () => {
    const clock = manualClock(T0);
    const limiter = concurrencyLimit({ max: 2, clock });
    const a = await limiter.limit('k');
    const b = await limiter.limit('k');
    expect((await limiter.limit('k')).allowed).toBe(false);
    await a.release();
    await a.release();
    expect((await limiter.peek('k')).remaining).toBe(1);
    const c = await limiter.limit('k');
    expect(c.allowed).toBe(true);
    expect((await limiter.limit('k')).allowed).toBe(false);
    await b.release();
    await c.release();
    expect((await limiter.peek('k')).remaining).toBe(2);
  });

  it('a slot that is never released comes back after leaseMs', async () => {
    const clock = manualClock(T0);
    const limiter = concurrencyLimit({ max: 1, leaseMs: 5_000, clock });
    await limiter.limit('k'); // "crashed" holder: never released
    const denied = await limiter.limit('k');
    expect(denied).toMatchObject({ allowed: false, resetAfterMs: 5_000, retryAfterMs: 50 });
    clock.advance(5_000);
    expect((await limiter.limit('k')).allowed).toBe(true);
  });

  it('acquire waits and is woken by a release in this process', async () => {
    const clock = manualClock(T0);
    const limiter = concurrencyLimit({ max: 1, pollIntervalMs: 60_000, clock });
    const held = await limiter.acquire('k');
    let got = false;
    const waiting = limiter.acquire('k').then((lease) => {
      got = true;
      return lease;
    });
    await clock.advanceAsync(0);
    expect(got).toBe(false);
    await held.release();
    const lease = await waiting;
    expect(lease.allowed).toBe(true);
    await lease.release();
  });

  it('run releases the slot when the function throws', async () => {
    const limiter = concurrencyLimit({ max: 1 });
    await expect(limiter.run('k', async () => Promise.reject(new Error('boom')))).rejects.toThrow(
      'boom',
    );
    expect(await limiter.run('k', async () => 42)).toBe(42);
    expect((await limiter.peek('k')).remaining).toBe(1);
  });

  it('a denied decision has a harmless release', async () => {
    const limiter = concurrencyLimit({ max: 1 });
    const held = await limiter.limit('k');
    const denied = await limiter.limit('k');
    expect(denied.allowed).toBe(false);
    await denied.release();
    expect((await limiter.peek('k')).remaining).toBe(0);
    await held.release();
  });
});
