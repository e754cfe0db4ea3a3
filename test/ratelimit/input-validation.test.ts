// Regression tests for issue 9's ratelimit defects: bad signals (4), long waits (5),
// unbounded costs (6), options that break later (7) and TypeErrors on bad input (8).
import { afterEach, describe, expect, it, vi } from 'vitest';
import { InvalidOptionsError, manualClock } from '../../src/core/index.js';
import {
  concurrencyLimit,
  fixedWindow,
  leakyBucket,
  memoryStore,
  type RateLimiter,
  type RedisStore,
  slidingWindow,
  slidingWindowLog,
  tokenBucket,
  withRateLimit,
} from '../../src/ratelimit/index.js';

const T0 = 1_700_000_000_000;
const DAY = 86_400_000;

/** A Redis store that records whether it was touched and answers nothing. */
function untouchableStore() {
  const calls: string[] = [];
  const fail = (what: string) => () => {
    calls.push(what);
    return Promise.reject(new Error(`store touched: ${what}`));
  };
  const store: RedisStore = {
    kind: 'redis',
    prefix: 'test',
    run: fail('run'),
    retry: fail('retry'),
    decide: fail('decide'),
    call: fail('call'),
    del: fail('del'),
  } as unknown as RedisStore;
  return { store, calls };
}

type Factory = (extra: object) => RateLimiter;
const factories: Array<[string, Factory, number]> = [
  ['fixedWindow', (o) => fixedWindow({ limit: 10, windowMs: 1_000, ...o }), 10],
  ['slidingWindow', (o) => slidingWindow({ limit: 10, windowMs: 1_000, ...o }), 10],
  ['slidingWindowLog', (o) => slidingWindowLog({ limit: 10, windowMs: 1_000, ...o }), 10],
  ['tokenBucket', (o) => tokenBucket({ capacity: 10, refillPerSec: 1, ...o }), 10],
  // 10/s with 900 ms of queue: one turn now plus 9 queued, so the quota is 10.
  ['leakyBucket', (o) => leakyBucket({ ratePerSec: 10, maxQueueMs: 900, ...o }), 10],
  ['concurrencyLimit', (o) => concurrencyLimit({ max: 10, ...o }), 10],
];

const code = (promise: Promise<unknown>) =>
  promise.then(
    () => 'resolved',
    (e: { code?: string }) => e.code ?? String(e),
  );

describe('defect 6: cost is bounded by the quota for every algorithm, before any store call', () => {
  it.each(factories)(
    '%s refuses a cost above the quota on Redis without touching it',
    async (_n, make, quota) => {
      const { store, calls } = untouchableStore();
      const limiter = make({ store, onStoreError: 'allow' });
      expect(limiter.policy.maxCost).toBe(quota);
      for (const cost of [quota + 1, 1e15, 1e308, Number.MAX_VALUE]) {
        expect(await code(limiter.limit('attacker', { cost }))).toBe('INVALID_ARGUMENT');
        expect(await code(limiter.peek('attacker', { cost }))).toBe('INVALID_ARGUMENT');
        expect(await code(limiter.wait('attacker', { cost }))).toBe('INVALID_ARGUMENT');
      }
      expect(calls).toEqual([]);
    },
  );

  it('leakyBucket: limit("attacker", { cost: 1e15 }) is INVALID_ARGUMENT, other keys unaffected (regression)', async () => {
    const limiter = leakyBucket({ ratePerSec: 10, maxQueueMs: 1_000 });
    expect(await code(limiter.limit('attacker', { cost: 1e15 }))).toBe('INVALID_ARGUMENT');
    expect((await limiter.limit('victim')).allowed).toBe(true);
  });

  it('memory: cost 1e308 no longer blocks the key for good (regression)', async () => {
    const clock = manualClock(T0);
    const limiter = leakyBucket({ ratePerSec: 10, maxQueueMs: 1_000, clock });
    expect(await code(limiter.limit('k', { cost: 1e308 }))).toBe('INVALID_ARGUMENT');
    expect(await limiter.limit('k')).toMatchObject({ allowed: true, delayMs: 0 });
    // The largest allowed cost takes the whole queue, and the key recovers afterwards.
    clock.advance(1_000);
    expect((await limiter.limit('k', { cost: limiter.policy.maxCost! })).allowed).toBe(true);
    clock.advance(2_200);
    expect(await limiter.limit('k')).toMatchObject({ allowed: true, delayMs: 0 });
  });
});

describe('defect 8: bad call options are INVALID_ARGUMENT, never a TypeError or a default', () => {
  it.each(factories)('%s: null options, null cost, unknown fields', async (_n, make) => {
    const limiter = make({});
    const decisions: unknown[] = [];
    limiter.events.on('decision', (d) => decisions.push(d));
    const bad: unknown[] = [null, 5, 'x', [], { cost: null }, { cost: '2' }, { cost: Number.NaN }];
    for (const options of bad) {
      expect(await code(limiter.limit('k', options as never))).toBe('INVALID_ARGUMENT');
      expect(await code(limiter.peek('k', options as never))).toBe('INVALID_ARGUMENT');
      expect(await code(limiter.wait('k', options as never))).toBe('INVALID_ARGUMENT');
    }
    expect(await code(limiter.limit('k', { cots: 2 } as never))).toBe('INVALID_ARGUMENT');
    expect(await code(limiter.wait('k', { maxWaitMS: 10 } as never))).toBe('INVALID_ARGUMENT');
    expect(await code(limiter.wait('k', { maxWaitMs: -1 }))).toBe('INVALID_ARGUMENT');
    expect(decisions).toEqual([]);
    expect((await limiter.peek('k')).remaining).toBe(10);
  });
});

describe('defect 4: a non-AbortSignal signal is INVALID_ARGUMENT before any decision', () => {
  it.each(factories)('%s.wait with an AbortController as signal', async (_n, make) => {
    const limiter = make({ clock: manualClock(T0) });
    await limiter.limit('k', { cost: 10 }); // full: wait would have to sleep
    const decisions: unknown[] = [];
    limiter.events.on('decision', (d) => decisions.push(d));
    for (const signal of [new AbortController(), true, 'abort', null]) {
      expect(await code(limiter.wait('k', { signal } as never))).toBe('INVALID_ARGUMENT');
    }
    expect(decisions).toEqual([]);
  });

  it('concurrencyLimit().acquire with an AbortController on a full key (regression: TypeError)', async () => {
    const limiter = concurrencyLimit({ max: 1 });
    const held = await limiter.acquire('k');
    const decisions: unknown[] = [];
    limiter.events.on('decision', (d) => decisions.push(d));
    const signal = new AbortController() as unknown as AbortSignal;
    expect(await code(limiter.acquire('k', { signal }))).toBe('INVALID_ARGUMENT');
    expect(await code(limiter.run('k', async () => 1, { signal }))).toBe('INVALID_ARGUMENT');
    expect(decisions).toEqual([]);
    await held.release();
    expect((await limiter.peek('k')).remaining).toBe(1);
  });
});

describe('defect 5: waits longer than 2^31-1 ms do not spin', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('a monthly fixedWindow wait() makes one decision per window, not ~1 per ms (regression)', async () => {
    vi.useFakeTimers({ now: T0 }); // fake timers, like Node, fire a > 2^31-1 ms timer after 1 ms
    const limiter = fixedWindow({ limit: 1, windowMs: 31 * DAY });
    let decisions = 0;
    limiter.events.on('decision', () => decisions++);
    await limiter.limit('k');
    const waited = limiter.wait('k');
    await vi.advanceTimersByTimeAsync(1_000);
    expect(decisions).toBe(2); // the first call and one denied attempt; no spinning
    await vi.advanceTimersByTimeAsync(31 * DAY - 1_000);
    expect(await waited).toMatchObject({ allowed: true });
    expect(decisions).toBe(3);
  });
});

describe('defect 7: option ranges', () => {
  const issues = (fn: () => unknown) => {
    try {
      fn();
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidOptionsError);
      return [...new Set((error as InvalidOptionsError).issues.map((i) => i.path))];
    }
    throw new Error('expected InvalidOptionsError');
  };

  it('tokenBucket({ refillPerSec: 1e-310 }) is refused (regression: allowed everything)', () => {
    expect(issues(() => tokenBucket({ capacity: 10, refillPerSec: 1e-310 }))).toEqual([
      'refillPerSec',
    ]);
    expect(issues(() => tokenBucket({ capacity: 1e9, refillPerSec: 1e-6 }))).toEqual([
      'refillPerSec',
    ]);
    expect(issues(() => tokenBucket({ capacity: 0.5, refillPerSec: 1 }))).toEqual(['capacity']);
    expect(
      issues(() => tokenBucket({ capacity: Number.POSITIVE_INFINITY, refillPerSec: 1 })),
    ).toEqual(['capacity']);
  });

  it('memoryStore({ sweepIntervalMs: 2 ** 31 }) is refused (it would sweep every 1 ms)', () => {
    expect(issues(() => memoryStore({ sweepIntervalMs: 2 ** 31 }))).toEqual(['sweepIntervalMs']);
    expect(issues(() => memoryStore({ maxKeys: 0.5 }))).toEqual(['maxKeys']);
  });

  it('every ratelimit factory names a misspelt option', () => {
    const makers: Array<[string, (extra: object) => unknown]> = [
      ...factories.map(([name, make]) => [name, make] as [string, (extra: object) => unknown]),
      ['memoryStore', (o) => memoryStore(o)],
      [
        'withRateLimit',
        (o) => withRateLimit({}, fixedWindow({ limit: 1, windowMs: 1 }), { key: 'k', ...o }),
      ],
    ];
    for (const [name, make] of makers) {
      try {
        make({ storeRetryMS: 5 });
        throw new Error(`${name} accepted a misspelt option`);
      } catch (error) {
        expect(error, name).toBeInstanceOf(InvalidOptionsError);
        expect((error as Error).message, name).toContain('storeRetryMS');
      }
    }
  });

  it('windows, quotas, rates and common options have upper bounds', () => {
    expect(issues(() => fixedWindow({ limit: 1e300, windowMs: 1e300 }))).toEqual([
      'limit',
      'windowMs',
    ]);
    expect(issues(() => leakyBucket({ ratePerSec: 1e-310, maxQueueMs: 1e300 }))).toEqual([
      'ratePerSec',
      'maxQueueMs',
    ]);
    expect(issues(() => concurrencyLimit({ max: 1e7, leaseMs: 2 ** 53 }))).toEqual([
      'max',
      'leaseMs',
    ]);
    expect(
      issues(() =>
        fixedWindow({ limit: 1, windowMs: 1, instances: 0, storeRetryMs: 1e12, name: '' }),
      ),
    ).toEqual(['name', 'instances', 'storeRetryMs']);
  });
});
