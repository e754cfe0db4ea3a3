import { describe, expect, it } from 'vitest';
import { AbortedError, InvalidOptionsError, manualClock } from '../../src/core/index.js';
import {
  concurrencyLimit,
  fixedWindow,
  leakyBucket,
  RateLimitedError,
  type RateLimiter,
  rateLimited,
  slidingWindowLog,
  tokenBucket,
  withRateLimit,
} from '../../src/ratelimit/index.js';

const T0 = 1_700_000_000_000;

interface Sms {
  send(phone: string, text: string, options?: { signal?: AbortSignal }): Promise<string>;
  quota(): Promise<number>;
}

function fakeSms() {
  const sent: string[] = [];
  const sms: Sms = {
    async send(phone, text) {
      sent.push(`${phone}:${text}`);
      return 'ok';
    },
    async quota() {
      return 7;
    },
  };
  return { sms, sent };
}

function optionIssues(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidOptionsError);
    return (error as InvalidOptionsError).issues.map((i) => i.path);
  }
  throw new Error('expected InvalidOptionsError');
}

describe('withRateLimit', () => {
  it('denied calls throw RateLimitedError and never reach the target', async () => {
    const { sms, sent } = fakeSms();
    const limiter = fixedWindow({ limit: 2, windowMs: 60_000 });
    const limited: Sms = withRateLimit(sms, limiter, { key: 'account', methods: ['send'] });
    await limited.send('1', 'a');
    await limited.send('2', 'b');
    const error = await limited.send('3', 'c').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitedError);
    expect(error).toMatchObject({
      code: 'RATE_LIMITED',
      key: 'account',
      decision: { allowed: false },
    });
    expect((error as RateLimitedError).retryAfterMs).toBeGreaterThan(0);
    expect(sent).toEqual(['1:a', '2:b']);
    expect(await limited.quota()).toBe(7); // not limited
    expect(await limited.quota()).toBe(7);
  });

  it('keys and costs by a function of method and arguments', async () => {
    const { sms, sent } = fakeSms();
    const limiter = slidingWindowLog({ limit: 3, windowMs: 60_000 });
    const limited = withRateLimit(sms, limiter, {
      key: (method, args) => `${method}:${String(args[0])}`,
      cost: (_m, args) => (String(args[1]).length > 3 ? 2 : 1),
      methods: ['send'],
    });
    await limited.send('1', 'long text');
    await limited.send('1', 'hi');
    await expect(limited.send('1', 'x')).rejects.toBeInstanceOf(RateLimitedError);
    await limited.send('2', 'x');
    expect(sent).toEqual(['1:long text', '1:hi', '2:x']);
  });

  it('wait: queues calls instead of failing', async () => {
    const clock = manualClock(T0);
    const { sms, sent } = fakeSms();
    const limiter: RateLimiter = tokenBucket({ capacity: 1, refillPerSec: 1, clock });
    const limited = withRateLimit(sms, limiter, { key: 'k', methods: ['send'], wait: true });
    await limited.send('1', 'a');
    const second = limited.send('2', 'b');
    await clock.advanceAsync(999);
    expect(sent).toEqual(['1:a']);
    await clock.advanceAsync(1);
    await second;
    expect(sent).toEqual(['1:a', '2:b']);
  });

  it("the caller's abort reaches limiter.wait (regression: the signal was never passed)", async () => {
    const clock = manualClock(T0);
    const { sms, sent } = fakeSms();
    const limiter = tokenBucket({ capacity: 1, refillPerSec: 1 / 60, clock });
    const limited = withRateLimit(sms, limiter, { key: 'k', methods: ['send'], wait: true });
    await limited.send('1', 'a');
    const controller = new AbortController();
    const second = limited.send('2', 'b', { signal: controller.signal });
    const outcome = second.catch((e: unknown) => e);
    await clock.advanceAsync(10);
    controller.abort('client went away');
    expect(await outcome).toBeInstanceOf(AbortedError);
    await clock.advanceAsync(60_000);
    expect(sent).toEqual(['1:a']);
  });

  it('a custom signalOf finds the signal; it also cancels a pacing delay', async () => {
    const clock = manualClock(T0);
    const { sms, sent } = fakeSms();
    const limiter = leakyBucket({ ratePerSec: 1, maxQueueMs: 10_000, clock });
    const controller = new AbortController();
    const limited = withRateLimit(sms, limiter, {
      key: 'gw',
      methods: ['send'],
      signalOf: () => controller.signal,
    });
    await limited.send('1', 'a');
    const outcome = limited.send('2', 'b').catch((e: unknown) => e);
    await clock.advanceAsync(10);
    controller.abort();
    expect(await outcome).toBeInstanceOf(AbortedError);
    await clock.advanceAsync(5_000);
    expect(sent).toEqual(['1:a']);
  });

  it('paces calls through a leaky bucket', async () => {
    const clock = manualClock(T0);
    const { sms, sent } = fakeSms();
    const limiter = leakyBucket({ ratePerSec: 10, maxQueueMs: 1_000, clock });
    const limited = withRateLimit(sms, limiter, { key: 'gw', methods: ['send'] });
    const calls = [limited.send('1', 'a'), limited.send('2', 'b'), limited.send('3', 'c')];
    await clock.advanceAsync(0);
    expect(sent).toEqual(['1:a']);
    await clock.advanceAsync(100);
    expect(sent).toEqual(['1:a', '2:b']);
    await clock.advanceAsync(100);
    await Promise.all(calls);
    expect(sent).toHaveLength(3);
  });

  it('holds a concurrency slot for the duration of the call', async () => {
    const limiter = concurrencyLimit({ max: 1 });
    let inside = 0;
    let maxInside = 0;
    const target = {
      async work() {
        inside++;
        maxInside = Math.max(maxInside, inside);
        await new Promise((r) => setTimeout(r, 5));
        inside--;
      },
    };
    const limited = withRateLimit(target, limiter, { key: 'k', wait: { maxWaitMs: 5_000 } });
    await Promise.all([limited.work(), limited.work(), limited.work()]);
    expect(maxInside).toBe(1);
    expect((await limiter.peek('k')).remaining).toBe(1);
  });

  it('rejects bad options and bad keys with typed errors', async () => {
    const { sms } = fakeSms();
    const limiter = fixedWindow({ limit: 1, windowMs: 1_000 });
    expect(() => withRateLimit(sms, {} as never, { key: 'k' })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    expect(optionIssues(() => withRateLimit(sms, limiter, { key: '' }))).toEqual(['key']);
    expect(optionIssues(() => withRateLimit(sms, limiter, undefined as never))).toEqual(['']);
    const limited = withRateLimit(sms, limiter, { key: () => '', methods: ['send'] });
    await expect(limited.send('1', 'a')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('a misspelt option throws naming it (regression: { wiat } was dropped silently)', () => {
    const { sms } = fakeSms();
    const limiter = fixedWindow({ limit: 1, windowMs: 1_000 });
    const error = (() => {
      try {
        withRateLimit(sms, limiter, { key: 'k', wiat: true } as never);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(InvalidOptionsError);
    expect(String((error as Error).message)).toContain('wiat');
    expect(
      optionIssues(() =>
        withRateLimit(sms, limiter, { key: 'k', wait: { maxWaitMS: 5 } } as never),
      ),
    ).toEqual(['wait']);
  });

  it('{ wait: 0 } and { wait: "no" } are refused (regression: they waited forever)', () => {
    const { sms } = fakeSms();
    const limiter = fixedWindow({ limit: 1, windowMs: 1_000 });
    expect(optionIssues(() => withRateLimit(sms, limiter, { key: 'k', wait: 0 as never }))).toEqual(
      ['wait'],
    );
    expect(
      optionIssues(() => withRateLimit(sms, limiter, { key: 'k', wait: 'no' as never })),
    ).toEqual(['wait']);
    expect(
      optionIssues(() =>
        withRateLimit(sms, limiter, { key: 'k', wait: { maxWaitMs: Number.NaN } }),
      ),
    ).toEqual(['wait']);
  });

  it('a constant cost the limiter could never allow is refused when wiring', () => {
    const { sms } = fakeSms();
    const limiter = fixedWindow({ limit: 5, windowMs: 1_000 });
    expect(optionIssues(() => withRateLimit(sms, limiter, { key: 'k', cost: 6 }))).toEqual([
      'cost',
    ]);
    expect(optionIssues(() => withRateLimit(sms, limiter, { key: 'k', cost: 1.5 }))).toEqual([
      'cost',
    ]);
    expect(optionIssues(() => withRateLimit(sms, limiter, { key: 'k', cost: 0 }))).toEqual([
      'cost',
    ]);
    withRateLimit(sms, tokenBucket({ capacity: 5, refillPerSec: 1 }), { key: 'k', cost: 1.5 });
  });

  it('rateLimited (deprecated) still works with the limiter in its options', async () => {
    const { sms, sent } = fakeSms();
    const limiter = fixedWindow({ limit: 1, windowMs: 60_000 });
    const limited = rateLimited(sms, { limiter, key: 'k', methods: ['send'] });
    await limited.send('1', 'a');
    await expect(limited.send('2', 'b')).rejects.toBeInstanceOf(RateLimitedError);
    expect(sent).toEqual(['1:a']);
  });
});
