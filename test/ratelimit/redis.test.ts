import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { manualClock } from '../../src/core/index.js';
import {
  concurrencyLimit,
  fixedWindow,
  type LimiterOptions,
  leakyBucket,
  type RateLimiter,
  redisStore,
  StoreClosedError,
  slidingWindow,
  slidingWindowLog,
  tokenBucket,
} from '../../src/ratelimit/index.js';
import { sharedRedisUrl, uniquePrefix } from '../harness/index.js';

const client = new Redis(sharedRedisUrl(), { enableAutoPipelining: true });
const admin = new Redis(sharedRedisUrl());
afterAll(() => {
  client.disconnect();
  admin.disconnect();
});

/** quit() resolves before the client reaches status "end"; wait for it. */
const end = (c: Redis) =>
  new Promise<void>((resolve) => {
    c.once('end', () => resolve());
    void c.quit();
  });

const prefix = (name: string) => uniquePrefix(name).slice(0, -1);

const makers: Array<[string, (o: LimiterOptions) => RateLimiter]> = [
  ['fixedWindow', (o) => fixedWindow({ limit: 3, windowMs: 60_000, ...o })],
  ['slidingWindowLog', (o) => slidingWindowLog({ limit: 3, windowMs: 60_000, ...o })],
  ['slidingWindow', (o) => slidingWindow({ limit: 3, windowMs: 60_000, ...o })],
  ['tokenBucket', (o) => tokenBucket({ capacity: 3, refillPerSec: 0.01, ...o })],
  ['leakyBucket', (o) => leakyBucket({ ratePerSec: 0.01, maxQueueMs: 250_000, ...o })],
  ['concurrencyLimit', (o) => concurrencyLimit({ max: 3, ...o })],
];

describe('redisStore client checks', () => {
  it('rejects an ended client at construction with STORE_CLOSED', async () => {
    const ended = new Redis(sharedRedisUrl());
    await end(ended);
    expect(ended.status).toBe('end');
    expect(() => redisStore(ended)).toThrow(StoreClosedError);
    expect(() => redisStore(ended)).toThrow(expect.objectContaining({ code: 'STORE_CLOSED' }));
  });

  it('rejects something that is not an ioredis client with INVALID_ARGUMENT', () => {
    expect(() => redisStore({} as never)).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    expect(() => redisStore(null as never)).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    expect(() => redisStore(client, { prefix: '' })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS' }),
    );
  });

  it('a client ended after construction makes every call reject with STORE_CLOSED, whatever onStoreError says', async () => {
    const own = new Redis(sharedRedisUrl());
    const limiter = fixedWindow({
      limit: 1,
      windowMs: 1_000,
      store: redisStore(own, { prefix: prefix('ended later') }),
      onStoreError: 'allow',
    });
    expect((await limiter.limit('k')).allowed).toBe(true);
    await end(own);
    await expect(limiter.limit('k')).rejects.toMatchObject({ code: 'STORE_CLOSED' });
    await expect(limiter.reset('k')).rejects.toMatchObject({ code: 'STORE_CLOSED' });
  });
});

describe('redisStore errors and lifecycle', () => {
  it('a script refusing its arguments is REDIS_COMMAND_ERROR, not a store outage (regression: issue 9 defect 6)', async () => {
    const limiter = fixedWindow({ limit: 3, windowMs: 60_000 });
    const store = redisStore(client, { prefix: prefix('bad args') });
    const script = (limiter as unknown as { alg: { script: Parameters<typeof store.call>[0] } }).alg
      .script;
    const error = await store.call(script, `{${prefix('bad')}:k}`, 'not-a-number').catch((e) => e);
    expect(error).toMatchObject({ code: 'REDIS_COMMAND_ERROR' });
    expect(error).not.toMatchObject({ code: 'STORE_UNAVAILABLE' });
  });

  it('a limiter rethrows a command error instead of falling back, and other keys stay on the store (regression: issue 9 defect 6)', async () => {
    const p = prefix('wrong type');
    const store = redisStore(client, { prefix: p });
    const limiter = fixedWindow({
      name: 'wt',
      limit: 3,
      windowMs: 60_000,
      store,
      onStoreError: 'allow',
    });
    const outages: unknown[] = [];
    limiter.events.on('storeError', (e) => outages.push(e));
    limiter.events.on('fallback', (e) => outages.push(e));
    // A value of the wrong type under the limiter's key makes its script fail with WRONGTYPE.
    await client.hset(`{${p}:wt:victim}`, 'f', '1');
    await expect(limiter.limit('victim')).rejects.toMatchObject({ code: 'REDIS_COMMAND_ERROR' });
    await expect(limiter.limit('victim', { cost: 2 })).rejects.toMatchObject({
      code: 'REDIS_COMMAND_ERROR',
    });
    const other = await limiter.limit('other');
    expect(other).toMatchObject({ allowed: true, remaining: 2 });
    expect(outages).toEqual([]);
  });

  it('refuses a prefix with braces (it must not break the hash tag)', () => {
    for (const bad of ['a{b', 'a}b', '{x}']) {
      expect(() => redisStore(client, { prefix: bad })).toThrow(
        expect.objectContaining({ code: 'INVALID_OPTIONS' }),
      );
    }
  });

  it('close() stops the store: later calls reject with STORE_CLOSED', async () => {
    const store = redisStore(client, { prefix: prefix('closed store') });
    const limiter = fixedWindow({ limit: 3, windowMs: 60_000, store, onStoreError: 'allow' });
    expect((await limiter.limit('k')).allowed).toBe(true);
    await store[Symbol.asyncDispose]();
    await expect(limiter.limit('k')).rejects.toMatchObject({ code: 'STORE_CLOSED' });
  });
});

describe('keys on Redis', () => {
  it.each(makers)(
    '%s: one hash-tagged key per decision, always with a TTL',
    async (_name, make) => {
      const p = prefix('key shape');
      const limiter = make({ store: redisStore(client, { prefix: p }) });
      const d = await limiter.limit('user:1');
      const keys = await admin.keys(`{${p}:*`);
      expect(keys).toEqual([`{${p}:${limiter.name}:user:1}`]);
      const ttl = await admin.pttl(keys[0]!);
      expect(ttl).toBeGreaterThan(0);
      await (d as { release?: () => Promise<void> }).release?.();
    },
  );

  it('reloads scripts after SCRIPT FLUSH (NOSCRIPT -> EVAL)', async () => {
    const limiter = slidingWindowLog({
      limit: 2,
      windowMs: 60_000,
      store: redisStore(client, { prefix: prefix('noscript') }),
    });
    const errors: unknown[] = [];
    limiter.events.on('storeError', (e) => errors.push(e.error));
    await limiter.limit('k');
    await admin.script('FLUSH');
    const results = await Promise.all([limiter.limit('k'), limiter.limit('k')]);
    expect(results.map((d) => d.allowed).sort()).toEqual([false, true]);
    expect(errors).toEqual([]);
  });
});

describe('fixedWindow reply encodings', () => {
  it('packs small configurations into one integer and huge ones into an array, same answers', async () => {
    for (const [limit, windowMs] of [
      [3, 60_000],
      [3_000_000_000, 30 * 86_400_000], // (windowMs + 1) x (limit + 1) > 2^53
    ] as const) {
      const limiter = fixedWindow({
        limit,
        windowMs,
        store: redisStore(client, { prefix: prefix('pack') }),
      });
      const first = await limiter.limit('k', { cost: 2 });
      expect(first).toMatchObject({ allowed: true, limit, remaining: limit - 2 });
      expect(first.resetAfterMs).toBe(windowMs);
      const big = await limiter.limit('k', { cost: limit - 1 });
      expect(big).toMatchObject({ allowed: false, remaining: limit - 2 });
      expect(big.retryAfterMs).toBeGreaterThan(windowMs - 1_000);
      expect(await limiter.peek('k')).toMatchObject({ allowed: true, remaining: limit - 2 });
    }
  });
});

describe('clock skew', () => {
  it.each(makers)(
    '%s: limiters with wildly different local clocks agree on one Redis',
    async (_name, make) => {
      const store = redisStore(client, { prefix: prefix('skew') });
      const early = make({ store, clock: manualClock(0) });
      const late = make({ store, clock: manualClock(Date.now() + 3 * 3_600_000) });
      const held = [await early.limit('k'), await late.limit('k'), await early.limit('k')];
      expect(held.every((d) => d.allowed)).toBe(true);
      expect(held.map((d) => d.remaining)).toEqual([2, 1, 0]);
      const started = performance.now();
      const a = await late.limit('k');
      const b = await early.limit('k');
      // Both read the same server time, so their hints differ only by the time that passed
      // between the two calls (hours, were either local clock used).
      const apart = performance.now() - started + 2;
      expect([a.allowed, b.allowed]).toEqual([false, false]);
      expect(Math.abs(a.retryAfterMs - b.retryAfterMs)).toBeLessThanOrEqual(apart);
      expect(Math.abs(a.resetAfterMs - b.resetAfterMs)).toBeLessThanOrEqual(apart);
      for (const d of held) await (d as { release?: () => Promise<void> }).release?.();
    },
  );
});

describe('concurrencyLimit leases on Redis', () => {
  it("a crashed holder's slot comes back after leaseMs (server clock)", async () => {
    const store = redisStore(client, { prefix: prefix('lease') });
    const crashed = concurrencyLimit({ max: 1, leaseMs: 300, store });
    const other = concurrencyLimit({ max: 1, leaseMs: 300, store });
    await crashed.limit('job'); // never released
    const denied = await other.limit('job');
    expect(denied.allowed).toBe(false);
    expect(denied.resetAfterMs).toBeGreaterThan(0);
    expect(denied.resetAfterMs).toBeLessThanOrEqual(300);
    const lease = await other.acquire('job', { maxWaitMs: 2_000 });
    expect(lease.allowed).toBe(true);
    await lease.release();
    await lease.release();
    expect((await other.peek('job')).remaining).toBe(1);
  });

  it('cost > 1 takes and releases several slots', async () => {
    const limiter = concurrencyLimit({
      max: 5,
      store: redisStore(client, { prefix: prefix('cost') }),
    });
    const big = await limiter.limit('k', { cost: 4 });
    expect(big.remaining).toBe(1);
    expect((await limiter.limit('k', { cost: 2 })).allowed).toBe(false);
    await big.release();
    expect((await limiter.peek('k')).remaining).toBe(5);
  });
});

describe('store timeouts', () => {
  it('a call Redis does not answer in timeoutMs fails over instead of hanging', async () => {
    const blocker = new Redis(sharedRedisUrl());
    const own = new Redis(sharedRedisUrl());
    await own.ping();
    const limiter = fixedWindow({
      limit: 1,
      windowMs: 1_000,
      store: redisStore(own, { prefix: prefix('timeout'), timeoutMs: 100 }),
      onStoreError: 'allow',
    });
    const seen: unknown[] = [];
    limiter.events.on('storeError', (e) => seen.push(e.error));
    // A busy script blocks the whole server for 0.5 s (DEBUG SLEEP is disabled by default).
    const busy = `local t = redis.call('TIME') local s = t[1] * 1000000 + t[2]
      repeat t = redis.call('TIME') until t[1] * 1000000 + t[2] - s > 500000 return 1`;
    const blocking = blocker.eval(busy, 0);
    await new Promise((r) => setTimeout(r, 20));
    const started = performance.now();
    const d = await limiter.limit('k');
    expect(performance.now() - started).toBeLessThan(450);
    expect(d.allowed).toBe(true);
    expect(seen[0]).toMatchObject({ code: 'STORE_UNAVAILABLE' });
    await blocking;
    blocker.disconnect();
    own.disconnect();
  });
});
