// Redis killed and restarted under a two-level cache with the Redis bus: reads keep
// working from L1 and the loader, errors become events, and everything heals by itself
// (L2 probed again after storeRetryMs, the bus subscriber's reconnect flushes L1).
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { cache, redisBus, redisCacheStore } from '../../src/cache/index.js';
import { manualClock } from '../../src/core/index.js';
import { type RedisServer, startRedis, uniquePrefix } from '../harness/index.js';

let server: RedisServer;
let redis: Redis;

beforeAll(async () => {
  server = await startRedis();
  redis = new Redis(server.url, {
    enableAutoPipelining: true,
    retryStrategy: () => 50,
    maxRetriesPerRequest: 1,
  });
  redis.on('error', () => {});
});

afterAll(async () => {
  redis?.disconnect();
  await server?.stop();
});

const ready = (client: Redis) =>
  vi.waitFor(() => expect(client.status).toBe('ready'), { timeout: 10_000, interval: 20 });

describe('Redis outage', () => {
  it('serves L1 and the loader while Redis is down, then heals', async () => {
    const clock = manualClock(1_000_000);
    const prefix = uniquePrefix('cache-outage').slice(0, -1);
    const bus = redisBus(redis, { channel: `${prefix}:bus` });
    const c = cache<string>({
      l1: { maxEntries: 100 },
      l2: redisCacheStore(redis, { prefix, commandTimeoutMs: 300 }),
      bus,
      clock,
      ttlMs: 60_000,
      storeRetryMs: 1_000,
    });
    await ready(redis);
    await bus.ready?.();
    const storeErrors: unknown[] = [];
    const recovered: unknown[] = [];
    const flushed: { reason: string }[] = [];
    c.events.on('storeError', (e) => storeErrors.push(e));
    c.events.on('recovered', (e) => recovered.push(e));
    c.events.on('flushed', (e) => flushed.push(e));

    await c.set('warm', 'from-before');
    await server.kill();
    await vi.waitFor(() => expect(redis.status).not.toBe('ready'), { interval: 10 });

    // L1 keeps serving; the loader still runs; nothing throws.
    expect(await c.get('warm')).toBe('from-before');
    expect(await c.getOrSet('cold', async () => 'loaded')).toBe('loaded');
    expect(await c.get('cold')).toBe('loaded'); // kept in L1
    await c.set('written-down', 'x');
    await c.delete('warm');
    expect(storeErrors.length).toBeGreaterThan(0);

    await server.restart();
    await ready(redis);
    // The bus subscriber came back: messages may have been missed, so L1 was flushed.
    await vi.waitFor(() => expect(flushed.map((f) => f.reason)).toContain('reconnect'), {
      timeout: 10_000,
    });
    clock.advance(1_000); // past storeRetryMs: the next call probes L2
    await c.set('after', 'healed');
    expect(recovered).toHaveLength(1);
    const other = cache<string>({
      l1: false,
      l2: redisCacheStore(redis, { prefix }),
      clock,
    });
    expect(await other.get('after')).toBe('healed');
    expect(await c.getOrSet('cold', async () => 'reloaded')).toBe('reloaded'); // L1 was flushed
    await Promise.all([c.close(), other.close(), bus.close()]);
  });

  it("onStoreError 'deny' turns an L2 failure into an error", async () => {
    const down = new Redis(server.url, { lazyConnect: true, enableOfflineQueue: false });
    down.on('error', () => {});
    const c = cache<string>({
      l1: false,
      l2: redisCacheStore(down, { prefix: uniquePrefix('deny').slice(0, -1) }),
      onStoreError: 'deny',
    });
    await expect(c.get('k')).rejects.toMatchObject({ code: 'REDIS_UNAVAILABLE' });
    await c.close();
    down.disconnect();
  });
});
