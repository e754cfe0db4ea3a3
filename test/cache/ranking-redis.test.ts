// rankingJob over real two-level caches (L1 + Redis L2 + Redis bus) on a dedicated Redis
// that is killed and restarted: readers keep their ranking, then heal.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cache, rankingJob, redisBus, redisCacheStore } from '../../src/cache/index.js';
import { manualClock } from '../../src/core/index.js';
import { leaderElection } from '../../src/jobs/index.js';
import { memoryLock } from '../../src/lock/index.js';
import { type RedisServer, startRedis } from '../harness/index.js';

let server: RedisServer;
const clients: Redis[] = [];
const connect = () => {
  const client = new Redis(server.url, { enableAutoPipelining: true, retryStrategy: () => 50 });
  client.on('error', () => {}); // the outage below is on purpose
  clients.push(client);
  return client;
};

beforeAll(async () => {
  server = await startRedis();
});
afterAll(async () => {
  for (const c of clients) c.disconnect();
  await server.stop();
});

describe('rankingJob on Redis', () => {
  it('the leader stores, readers hit L1; Redis killed: readers keep the last ranking; restarted: the next run reaches them', async () => {
    const clock = manualClock(1_000_000);
    const instance = (redis: Redis) =>
      cache<string[]>({
        name: 'rankings',
        l1: { maxEntries: 10 },
        l2: redisCacheStore(redis, { prefix: 'test:rank', commandTimeoutMs: 300 }),
        bus: redisBus(redis, { channel: 'test:rank:bus', commandTimeoutMs: 300 }),
        storeRetryMs: 100,
        clock,
      });
    const cacheA = instance(connect());
    const cacheB = instance(connect());
    let run = 0;
    const locker = memoryLock({ clock });
    const [electionA, electionB] = [0, 1].map(() =>
      leaderElection({ locker, name: 'popular', ttlMs: 86_400_000, pollMs: 60_000, clock }),
    );
    await clock.advanceAsync(0);
    expect(electionA?.isLeader).toBe(true);
    const common = { name: 'popular', everyMs: 3_600_000, runOnElected: false, clock };
    const leader = rankingJob({
      ...common,
      cache: cacheA,
      election: electionA!,
      compute: () => [`p${++run}`],
    });
    const reader = rankingJob({
      ...common,
      cache: cacheB,
      election: electionB!,
      compute: () => ['never'],
    });
    const layers: string[] = [];
    cacheB.events.on('hit', ({ layer }) => layers.push(layer));

    let fromBus = 0;
    cacheB.events.on('invalidated', ({ source }) => {
      if (source === 'bus') fromBus++;
    });
    // Wait until B's bus subscription is up (pub/sub keeps nothing for late subscribers).
    await expect
      .poll(async () => {
        await cacheA.set('warm-up', ['x']);
        return fromBus;
      })
      .toBeGreaterThan(0);
    expect(await reader.get()).toBeUndefined(); // nothing computed yet
    const seen = fromBus;
    await leader.refresh();
    await expect.poll(() => fromBus).toBe(seen + 1); // B dropped its L1 copy (it had none)
    expect(await reader.get()).toEqual(['p1']); // from L2
    expect(await reader.get()).toEqual(['p1']); // from L1
    expect(layers).toEqual(['l2', 'l1']);

    await server.kill();
    // Still fresh in L1 (the ranking's TTL is 3 periods).
    expect(await reader.get()).toEqual(['p1']);
    // The leader's run cannot reach L2, yet it serves its own result.
    await leader.refresh().catch(() => {});
    expect(await leader.get()).toEqual(['p2']);
    // Past the TTL: L1 has nothing fresh and L2 is down; the reader's last copy answers.
    clock.advance(11_000_000); // past the ranking TTL (3 x everyMs)
    const fallbacks: unknown[] = [];
    reader.events.on('fallback', (e) => fallbacks.push(e));
    expect(await reader.get()).toEqual(['p1']);
    expect(fallbacks).toHaveLength(1);

    await server.restart();
    await expect
      .poll(() => clients.every((c) => c.status === 'ready'), { timeout: 10_000 })
      .toBe(true);
    clock.advance(1_000); // past storeRetryMs: the caches probe L2 again
    // Each attempt recomputes on the leader; the reader sees a newer ranking once the
    // caches use L2 again (p1 was its last copy).
    await expect
      .poll(
        async () => {
          await leader.refresh().catch(() => {});
          return (await reader.get())?.[0];
        },
        { timeout: 10_000 },
      )
      .toMatch(/^p([2-9]|\d\d+)$/);
    await leader.close();
    await reader.close();
    await cacheA.close();
    await cacheB.close();
    await electionA?.close();
    await electionB?.close();
    await locker.close();
  });
});
