// The counters contract, one table of specs run against every backend: memory on a
// manual clock, Redis and Redis Cluster on real time (short TTLs).
import { expect, it } from 'vitest';
import {
  type Counters,
  CountersClosedError,
  memoryCounters,
  redisCounters,
} from '../../src/cache/index.js';
import { type ManualClock, manualClock } from '../../src/core/index.js';
import {
  type ContractBackend,
  openRedisClient,
  type RedisBackendClient,
  uniquePrefix,
} from '../harness/index.js';

export interface CountersEnv {
  /** Fresh counters isolated from other tests, with a default TTL. */
  counters(ttlMs?: number): Counters;
  /** Let `ms` of counter time pass. */
  advance(ms: number): Promise<void>;
}

export const memoryBackend: ContractBackend<CountersEnv> = {
  name: 'memory',
  open: () => {
    let clock: ManualClock = manualClock(1_000);
    return {
      counters: (ttlMs = 60_000) => {
        clock = manualClock(1_000);
        return memoryCounters({ ttlMs, clock });
      },
      advance: (ms) => clock.advanceAsync(ms),
    };
  },
};

export function redisBackend(
  name: 'redis' | 'redis-cluster',
): ContractBackend<CountersEnv & { client: RedisBackendClient }> {
  return {
    name,
    open: async () => {
      const client = await openRedisClient(name);
      return {
        client,
        counters: (ttlMs = 60_000) =>
          redisCounters(client, { prefix: uniquePrefix(`counters ${name}`).slice(0, -1), ttlMs }),
        advance: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
      };
    },
    close: (env) => void env.client.disconnect(),
  };
}

export function describeCountersContract(_backend: string, envOf: () => CountersEnv): void {
  it('incr on a key that was never loaded changes nothing and answers undefined', async () => {
    const c = envOf().counters();
    const misses: string[] = [];
    c.events.on('miss', ({ key }) => misses.push(key));
    expect(await c.incr('post:1', 'likes', 1)).toBeUndefined();
    expect(await c.get('post:1', 'likes')).toBeUndefined();
    expect(await c.getAll('post:1')).toBeUndefined();
    expect(misses).toEqual(['post:1']);
  });

  it('init then incr counts from the loaded figures, a new field starts at 0', async () => {
    const c = envOf().counters();
    expect(await c.init('post:2', { likes: 10, views: 300 })).toBe(true);
    expect(await c.incr('post:2', 'likes', 1)).toBe(11);
    expect(await c.incr('post:2', 'likes')).toBe(12);
    expect(await c.incr('post:2', 'likes', -5)).toBe(7);
    expect(await c.incr('post:2', 'shares', 2)).toBe(2);
    expect(await c.get('post:2', 'likes')).toBe(7);
    expect(await c.getMany('post:2', ['views', 'nope', 'likes'])).toEqual([300, undefined, 7]);
    expect(await c.getAll('post:2')).toEqual({ likes: 7, views: 300, shares: 2 });
  });

  it('init keeps an existing hash unless replace is set', async () => {
    const c = envOf().counters();
    await c.init('post:3', { likes: 1 });
    await c.incr('post:3', 'likes', 4);
    expect(await c.init('post:3', { likes: 0 })).toBe(false);
    expect(await c.get('post:3', 'likes')).toBe(5);
    expect(await c.init('post:3', { views: 9 }, { replace: true })).toBe(true);
    expect(await c.getAll('post:3')).toEqual({ views: 9 });
  });

  it('a hash expires ttlMs after init, and incr does not extend it', async () => {
    const env = envOf();
    const c = env.counters(150);
    await c.init('post:4', { likes: 1 });
    await env.advance(60);
    expect(await c.incr('post:4', 'likes')).toBe(2);
    await env.advance(200);
    expect(await c.incr('post:4', 'likes')).toBeUndefined();
    expect(await c.get('post:4', 'likes')).toBeUndefined();
  });

  it('a per-call ttlMs overrides the default', async () => {
    const env = envOf();
    const c = env.counters(60_000);
    await c.init('post:5', { likes: 1 }, { ttlMs: 100 });
    await env.advance(200);
    expect(await c.getAll('post:5')).toBeUndefined();
  });

  it('concurrent increments are all counted', async () => {
    const c = envOf().counters();
    await c.init('post:6', { likes: 0 });
    await Promise.all(Array.from({ length: 200 }, () => c.incr('post:6', 'likes')));
    expect(await c.get('post:6', 'likes')).toBe(200);
  });

  it('delete removes the hash; later incr misses', async () => {
    const c = envOf().counters();
    await c.init('post:7', { likes: 3 });
    expect(await c.delete('post:7')).toBe(true);
    expect(await c.delete('post:7')).toBe(false);
    expect(await c.incr('post:7', 'likes')).toBeUndefined();
  });

  it('keys are independent (each its own hash)', async () => {
    const c = envOf().counters();
    await c.init('a', { n: 1 });
    await c.init('b', { n: 100 });
    await c.incr('a', 'n', 1);
    expect(await c.get('a', 'n')).toBe(2);
    expect(await c.get('b', 'n')).toBe(100);
  });

  it('bad arguments throw INVALID_ARGUMENT before any change', async () => {
    const c = envOf().counters();
    await c.init('post:8', { likes: 1 });
    const bad: Array<() => Promise<unknown>> = [
      () => c.incr('', 'likes'),
      () => c.incr('post:8', ''),
      () => c.incr('post:8', 'likes', 1.5),
      () => c.incr('post:8', 'likes', Number.NaN),
      () => c.incr('post:8', 'likes', '1' as unknown as number),
      () => c.init('post:8', {}),
      () => c.init('post:8', { likes: 0.5 }),
      () => c.init('post:8', [] as unknown as Record<string, number>),
      () => c.init('post:8', { likes: 1 }, { ttlMs: 0 }),
      () => c.init('post:8', { likes: 1 }, { tllMs: 5 } as never),
      () =>
        c.init('post:8', Object.fromEntries(Array.from({ length: 1_001 }, (_, i) => [`f${i}`, i]))),
      () => c.getMany('post:8', []),
      () => c.getMany('post:8', ['']),
      () => c.get('post:8', ''),
      () => c.getAll(42 as unknown as string),
    ];
    for (const call of bad)
      await expect(call()).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(await c.getAll('post:8')).toEqual({ likes: 1 });
  });

  it('a large hash (1 000 fields) loads in one init', async () => {
    const c = envOf().counters();
    const fields = Object.fromEntries(Array.from({ length: 1_000 }, (_, i) => [`f${i}`, i]));
    expect(await c.init('wide', fields)).toBe(true);
    expect(await c.get('wide', 'f999')).toBe(999);
  });

  it('calls after close reject with COUNTERS_CLOSED', async () => {
    const c = envOf().counters();
    await c.init('post:9', { likes: 1 });
    await c[Symbol.asyncDispose]();
    await expect(c.get('post:9', 'likes')).rejects.toBeInstanceOf(CountersClosedError);
    await expect(c.incr('post:9', 'likes')).rejects.toMatchObject({ code: 'COUNTERS_CLOSED' });
  });
}
