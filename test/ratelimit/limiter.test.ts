import { describe, expect, it, vi } from 'vitest';
import { InvalidOptionsError, manualClock } from '../../src/core/index.js';
import {
  concurrencyLimit,
  fixedWindow,
  leakyBucket,
  memoryStore,
  type RedisStore,
  StoreClosedError,
  StoreUnavailableError,
  slidingWindow,
  slidingWindowLog,
  tokenBucket,
} from '../../src/ratelimit/index.js';

const T0 = 1_700_000_000_000;

function optionIssues(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidOptionsError);
    expect((error as InvalidOptionsError).code).toBe('INVALID_OPTIONS');
    return (error as InvalidOptionsError).issues.map((i) => i.path);
  }
  throw new Error('expected InvalidOptionsError');
}

describe('options are validated at construction', () => {
  it.each([
    ['fixedWindow', (o: object) => fixedWindow(o as never)],
    ['slidingWindowLog', (o: object) => slidingWindowLog(o as never)],
    ['slidingWindow', (o: object) => slidingWindow(o as never)],
  ])('%s: limit <= 0, window < 1 ms, fractional values, unknown keys', (_name, make) => {
    expect(optionIssues(() => make({ limit: 0, windowMs: 1_000 }))).toEqual(['limit']);
    expect(optionIssues(() => make({ limit: -5, windowMs: 1_000 }))).toEqual(['limit']);
    expect(optionIssues(() => make({ limit: 10, windowMs: 0.5 }))).toEqual(['windowMs']);
    expect(optionIssues(() => make({ limit: 10, windowMs: 0 }))).toEqual(['windowMs']);
    expect(optionIssues(() => make({ limit: 1.5, windowMs: 1_000 }))).toEqual(['limit']);
    expect(optionIssues(() => make({ limit: 10, windowMs: 1_000, limt: 3 }))).toEqual(['']);
    expect(
      optionIssues(() => make({ limit: Number.NaN, windowMs: Number.POSITIVE_INFINITY })),
    ).toEqual(['limit', 'windowMs']);
  });

  it('tokenBucket, leakyBucket, concurrencyLimit and the common options', () => {
    expect(optionIssues(() => tokenBucket({ capacity: 0, refillPerSec: -1 }))).toEqual([
      'capacity',
      'refillPerSec',
    ]);
    expect(optionIssues(() => leakyBucket({ ratePerSec: 0, maxQueueMs: -1 }))).toEqual([
      'ratePerSec',
      'maxQueueMs',
    ]);
    expect(optionIssues(() => concurrencyLimit({ max: 0, leaseMs: 0 }))).toEqual([
      'max',
      'leaseMs',
    ]);
    expect(
      optionIssues(() =>
        fixedWindow({
          limit: 1,
          windowMs: 1,
          onStoreError: 'ignore' as never,
          instances: 0,
          store: {} as never,
          clock: Date as never,
          storeRetryMs: 0,
        }),
      ),
    ).toEqual(['store', 'clock', 'onStoreError', 'instances', 'storeRetryMs']);
    expect(optionIssues(() => memoryStore({ maxKeys: 0 }))).toEqual(['maxKeys']);
  });
});

describe('memoryStore', () => {
  it('sweeps keys once they are equivalent to never seen', async () => {
    const clock = manualClock(T0);
    const store = memoryStore({ sweepIntervalMs: 0 });
    const limiter = fixedWindow({ limit: 1, windowMs: 1_000, clock, store });
    for (let i = 0; i < 100; i++) await limiter.limit(`k${i}`);
    expect(store.size).toBe(100);
    clock.advance(999);
    await limiter.limit('fresh');
    expect(store.sweep()).toBe(0);
    clock.advance(1);
    await limiter.limit('fresh2');
    expect(store.sweep()).toBe(100);
    expect(store.size).toBe(2);
  });

  it('sweeps on an unref-ed timer', async () => {
    vi.useFakeTimers();
    try {
      const store = memoryStore({ sweepIntervalMs: 1_000 });
      const clock = manualClock(T0);
      const limiter = tokenBucket({ capacity: 1, refillPerSec: 1, clock, store });
      await limiter.limit('a');
      clock.advance(1_000);
      await limiter.peek('b');
      expect(store.size).toBe(1);
      await limiter.limit('c'); // moves the table's "now"; 'a' is full again
      vi.advanceTimersByTime(1_000);
      expect(store.size).toBe(1);
      store.close();
    } finally {
      vi.useRealTimers();
    }
  });

  it('maxKeys evicts the least recently used key', async () => {
    const store = memoryStore({ maxKeys: 2, sweepIntervalMs: 0 });
    const limiter = fixedWindow({ limit: 1, windowMs: 60_000, store, clock: manualClock(T0) });
    await limiter.limit('a');
    await limiter.limit('b');
    await limiter.limit('a'); // a is now the most recently used
    await limiter.limit('c'); // evicts b
    expect(store.size).toBe(2);
    expect((await limiter.limit('a')).allowed).toBe(false); // still remembered
    expect((await limiter.limit('b')).allowed).toBe(true); // forgotten: fresh quota
  });

  it('limiters sharing a store get separate namespaces; a name clash across algorithms is an error', async () => {
    const store = memoryStore();
    const clock = manualClock(T0);
    const a = fixedWindow({ limit: 1, windowMs: 1_000, store, clock });
    const b = fixedWindow({ limit: 2, windowMs: 1_000, store, clock });
    await a.limit('k');
    expect((await b.limit('k')).remaining).toBe(1);
    expect(a.name).toBe('fw:1:1000');
    expect(
      optionIssues(() => tokenBucket({ capacity: 1, refillPerSec: 1, store, name: a.name })),
    ).toEqual(['name']);
    store.close();
  });
});

/** A store whose calls fail, to drive the fallback logic on a manual clock. */
function flakyStore() {
  const state = { failing: true, calls: 0 };
  const store: RedisStore = {
    kind: 'redis',
    close() {},
    async [Symbol.asyncDispose]() {},
    prefix: 'test',
    async run() {
      state.calls++;
      if (state.failing) throw new StoreUnavailableError('down');
      return 1_000 * 6 + 1; // fixedWindow(limit 5) packed reply: allowed, used 1, ttl 1 000
    },
    retry: (error) => Promise.reject(error),
    decide(script, key, cost, onReply, onError) {
      return this.run(script, key, cost).then(onReply, onError);
    },
    call(...args) {
      return this.run(...args);
    },
    async del() {},
  };
  return { store, state };
}

describe('onStoreError (logic; the real outage is in redis-outage.test.ts)', () => {
  it('deny: denies while down, probes after storeRetryMs, emits fallback/recovered', async () => {
    const clock = manualClock(T0);
    const { store, state } = flakyStore();
    const limiter = fixedWindow({ limit: 5, windowMs: 1_000, store, clock, storeRetryMs: 500 });
    const events: string[] = [];
    limiter.events.on('storeError', () => events.push('storeError'));
    limiter.events.on('fallback', (e) => events.push(`fallback:${e.mode}`));
    limiter.events.on('recovered', (e) => events.push(`recovered:${e.downMs}`));
    expect(await limiter.limit('k')).toMatchObject({ allowed: false, retryAfterMs: 500 });
    expect(await limiter.limit('k')).toMatchObject({ allowed: false });
    expect(state.calls).toBe(1); // the second call did not touch the store
    clock.advance(500);
    await limiter.limit('k'); // probe fails
    expect(state.calls).toBe(2);
    state.failing = false;
    clock.advance(500);
    expect((await limiter.limit('k')).allowed).toBe(true);
    expect(events).toEqual(['storeError', 'fallback:deny', 'storeError', 'recovered:1000']);
  });

  it('allow: allows everything while down', async () => {
    const { store } = flakyStore();
    const limiter = fixedWindow({ limit: 2, windowMs: 1_000, store, onStoreError: 'allow' });
    const seen: string[] = [];
    limiter.events.on('decision', (e) => seen.push(e.source));
    for (let i = 0; i < 10; i++) expect((await limiter.limit('k')).allowed).toBe(true);
    expect(seen.every((s) => s === 'fallback')).toBe(true);
  });

  it('local: decides in memory with limit / instances', async () => {
    const clock = manualClock(T0);
    const { store } = flakyStore();
    const limiter = fixedWindow({
      limit: 10,
      windowMs: 1_000,
      store,
      clock,
      onStoreError: 'local',
      instances: 4,
    });
    const allowed = [];
    for (let i = 0; i < 5; i++) allowed.push((await limiter.limit('k')).allowed);
    expect(allowed).toEqual([true, true, false, false, false]);
  });

  it('a closed client is a programming error, not an outage: it always rejects', async () => {
    const store: RedisStore = {
      kind: 'redis',
      close() {},
      async [Symbol.asyncDispose]() {},
      prefix: 'test',
      run: () => Promise.reject(new StoreClosedError('ended')),
      retry: (error) => Promise.reject(error),
      decide(script, key, cost, onReply, onError) {
        return this.run(script, key, cost).then(onReply, onError);
      },
      call: () => Promise.reject(new StoreClosedError('ended')),
      del: () => Promise.reject(new StoreClosedError('ended')),
    };
    const limiter = fixedWindow({ limit: 1, windowMs: 1_000, store, onStoreError: 'allow' });
    await expect(limiter.limit('k')).rejects.toMatchObject({ code: 'STORE_CLOSED' });
  });
});
