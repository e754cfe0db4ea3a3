// The counters contract on every backend, plus what is specific to each one.
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { memoryCounters, redisCounters } from '../../src/cache/index.js';
import { InvalidOptionsError, manualClock, registeredRedisScripts } from '../../src/core/index.js';
import { describeBackends, sharedRedisUrl, startRedis, uniquePrefix } from '../harness/index.js';
import { describeCountersContract, memoryBackend, redisBackend } from './counters-contract.js';

describeBackends(
  [memoryBackend, redisBackend('redis'), redisBackend('redis-cluster')],
  describeCountersContract,
);

describe('memoryCounters', () => {
  it('drops the hash loaded longest ago beyond maxKeys', async () => {
    const c = memoryCounters({ maxKeys: 2, clock: manualClock() });
    await c.init('a', { n: 1 });
    await c.init('b', { n: 2 });
    await c.init('c', { n: 3 });
    expect(await c.get('a', 'n')).toBeUndefined();
    expect(await c.get('b', 'n')).toBe(2);
    expect(await c.get('c', 'n')).toBe(3);
  });

  it('refuses bad options with INVALID_OPTIONS', () => {
    expect(() => memoryCounters({ ttlMs: 0 })).toThrow(InvalidOptionsError);
    expect(() => memoryCounters({ maxKeys: 1.5 })).toThrow(InvalidOptionsError);
  });
});

describe('redisCounters', () => {
  it('keys are hash-tagged under the prefix', async () => {
    const client = new Redis(sharedRedisUrl());
    try {
      const prefix = uniquePrefix('counters keys').slice(0, -1);
      const c = redisCounters(client, { prefix });
      await c.init('post:1', { likes: 1 }, { ttlMs: 5_000 });
      expect(await client.hgetall(`{${prefix}:post:1}`)).toEqual({ likes: '1' });
      const ttl = await client.pttl(`{${prefix}:post:1}`);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(5_000);
    } finally {
      client.disconnect();
    }
  });

  it('its scripts carry the SHA the server computes', async () => {
    const client = new Redis(sharedRedisUrl());
    try {
      redisCounters(client);
      for (const script of registeredRedisScripts()) {
        expect(await client.call('SCRIPT', 'LOAD', script.source)).toBe(script.sha);
      }
    } finally {
      client.disconnect();
    }
  });

  it('refuses a bad client or options', () => {
    expect(() => redisCounters({} as never)).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    const client = new Redis(sharedRedisUrl(), { lazyConnect: true });
    expect(() => redisCounters(client, { prefix: 'a{b}' })).toThrow(InvalidOptionsError);
    expect(() => redisCounters(client, { timeoutMs: -1 })).toThrow(InvalidOptionsError);
    client.disconnect();
  });

  it('Redis down: calls reject with REDIS_UNAVAILABLE and emit error; after a restart they work again', async () => {
    const server = await startRedis();
    const client = new Redis(server.url, { maxRetriesPerRequest: 1, retryStrategy: () => 50 });
    client.on('error', () => {}); // outages are expected here
    try {
      const c = redisCounters(client, { timeoutMs: 300 });
      await c.init('post:1', { likes: 1 });
      const errors: string[] = [];
      c.events.on('error', ({ op }) => errors.push(op));
      await server.kill();
      await expect(c.incr('post:1', 'likes')).rejects.toMatchObject({ code: 'REDIS_UNAVAILABLE' });
      expect(errors).toEqual(['incr']);
      await server.restart();
      await expect.poll(() => client.status, { timeout: 10_000 }).toBe('ready');
      // The restarted server lost the hash (no persistence): the counter misses, as it must.
      expect(await c.incr('post:1', 'likes')).toBeUndefined();
      expect(await c.init('post:1', { likes: 7 })).toBe(true);
      expect(await c.incr('post:1', 'likes')).toBe(8);
    } finally {
      client.disconnect();
      await server.stop();
    }
  });
});
