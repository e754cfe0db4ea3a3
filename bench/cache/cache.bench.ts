import { BentoCache, bentostore } from 'bentocache';
import { memoryDriver } from 'bentocache/drivers/memory';
import { redisDriver } from 'bentocache/drivers/redis';
import { type Cache, cache, redisCacheStore } from 'girder/cache';
import { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';
import { type RedisServer, startRedis } from '../../test/harness/redis.js';
import type { BenchSuite, Runner } from '../harness.js';

/**
 * girder/cache against bentocache (memory L1 + Redis L2 driver, no bus) and lru-cache,
 * in one run, on the same machine and the same Redis (one auto-pipelined ioredis client
 * each library shares with nothing else). Cases:
 * - L1 hit `get` (1 000 warm keys), sequential and 100 in flight; lru-cache's raw
 *   synchronous `get` is the floor of any L1, and the same `get` behind an `await` the
 *   floor of any promise-returning cache API (bentocache's L1 keeps values unserialized,
 *   `serialize: false`, as girder's does);
 * - L2 hit `get`: girder with `l1: false`, bentocache with an L2-only store;
 * - `getOrSet` on a miss (a new key each call; the loader answers at once): L1 + L2.
 * Uses REDIS_URL when set, otherwise starts a throwaway redis-server.
 */
interface Product {
  id: number;
  name: string;
  price: number;
  tags: string[];
}

const KEYS = Array.from({ length: 1_000 }, (_, i) => `product:${i}`);
const product = (i: number): Product => ({
  id: i,
  name: `Product ${i}`,
  price: 100 + i,
  tags: ['a', 'b'],
});
const IN_FLIGHT = 100;
const HOUR_MS = 3_600_000;

let server: RedisServer | undefined;
let girderClient: Redis;
let bentoClient: Redis;
let girderTwo: Cache<Product>;
let girderL2: Cache<Product>;
let bentoTwo: BentoCache<{ two: ReturnType<typeof bentostore> }>;
let bentoL2: BentoCache<{ l2: ReturnType<typeof bentostore> }>;
let lru: LRUCache<string, Product>;
let missSeq = 0;

const sequential =
  (op: (key: string, i: number) => unknown): Runner =>
  async (n) => {
    for (let i = 0; i < n; i++) await op(KEYS[i % 1_000]!, i);
  };

const concurrent =
  (op: (key: string, i: number) => Promise<unknown>): Runner =>
  async (n) => {
    const batch: Promise<unknown>[] = new Array(IN_FLIGHT);
    for (let done = 0; done < n; ) {
      const size = Math.min(IN_FLIGHT, n - done);
      batch.length = size;
      for (let j = 0; j < size; j++) batch[j] = op(KEYS[(done + j) % 1_000]!, done + j);
      await Promise.all(batch);
      done += size;
    }
  };

async function setup() {
  let url = process.env.REDIS_URL?.trim();
  if (!url) {
    server = await startRedis();
    url = server.url;
  }
  girderClient = new Redis(url, { enableAutoPipelining: true });
  bentoClient = new Redis(url, { enableAutoPipelining: true });
  await girderClient.flushdb();
  girderTwo = cache<Product>({
    name: 'two',
    l1: { maxEntries: 100_000 },
    l2: redisCacheStore(girderClient, { prefix: 'bench:g2' }),
    ttlMs: HOUR_MS,
  });
  girderL2 = cache<Product>({
    name: 'l2',
    l1: false,
    l2: redisCacheStore(girderClient, { prefix: 'bench:gl2' }),
    ttlMs: HOUR_MS,
  });
  bentoTwo = new BentoCache({
    default: 'two',
    stores: {
      two: bentostore()
        .useL1Layer(memoryDriver({ maxItems: 100_000, serialize: false }))
        .useL2Layer(redisDriver({ connection: bentoClient, prefix: 'bench:b2' })),
    },
    ttl: HOUR_MS,
  });
  bentoL2 = new BentoCache({
    default: 'l2',
    stores: {
      l2: bentostore().useL2Layer(redisDriver({ connection: bentoClient, prefix: 'bench:bl2' })),
    },
    ttl: HOUR_MS,
  });
  lru = new LRUCache<string, Product>({ max: 100_000 });
  for (const [i, key] of KEYS.entries()) {
    const value = product(i);
    await girderTwo.set(key, value);
    await girderL2.set(key, value);
    await bentoTwo.set({ key, value });
    await bentoL2.set({ key, value });
    lru.set(key, value);
  }
  return async () => {
    await girderTwo.close();
    await girderL2.close();
    await bentoTwo.disconnect();
    await bentoL2.disconnect();
    girderClient.disconnect();
    bentoClient.disconnect();
    await server?.stop();
  };
}

const lruAwaited = sequential((key) => lru.get(key));

const lruRaw: Runner = (n) => {
  let found = 0;
  for (let i = 0; i < n; i++) if (lru.get(KEYS[i % 1_000]!) !== undefined) found++;
  return found;
};

// getOrSet on a miss: every call a key never seen (per subject), loader answers at once.
const missKey = (subject: string) => `miss:${subject}:${missSeq++}`;

export const suite: BenchSuite = {
  name: 'cache',
  cases: [
    {
      name: 'L1 hit get, sequential',
      setup,
      girder: sequential((key) => girderTwo.get(key)),
      peers: [
        {
          name: 'bentocache get (memory L1 + redis L2)',
          run: sequential((key) => bentoTwo.get({ key })),
        },
        { name: 'lru-cache raw get (sync)', run: lruRaw },
        { name: 'lru-cache get behind await', run: lruAwaited },
      ],
    },
    {
      name: `L1 hit get, ${IN_FLIGHT} in flight`,
      setup,
      girder: concurrent((key) => girderTwo.get(key)),
      peers: [
        {
          name: 'bentocache get (memory L1 + redis L2)',
          run: concurrent((key) => bentoTwo.get({ key })),
        },
        { name: 'lru-cache raw get (sync)', run: lruRaw },
      ],
    },
    {
      name: 'L2 hit get (no L1), sequential',
      setup,
      girder: sequential((key) => girderL2.get(key)),
      peers: [
        { name: 'bentocache get (redis L2 only)', run: sequential((key) => bentoL2.get({ key })) },
      ],
    },
    {
      name: `L2 hit get (no L1), ${IN_FLIGHT} in flight`,
      setup,
      girder: concurrent((key) => girderL2.get(key)),
      peers: [
        { name: 'bentocache get (redis L2 only)', run: concurrent((key) => bentoL2.get({ key })) },
      ],
    },
    {
      name: 'getOrSet on a miss (L1 + L2), sequential',
      setup,
      girder: sequential((_, i) => girderTwo.getOrSet(missKey('g'), () => product(i))),
      peers: [
        {
          name: 'bentocache getOrSet (memory L1 + redis L2)',
          run: sequential((_, i) =>
            bentoTwo.getOrSet({ key: missKey('b'), factory: () => product(i) }),
          ),
        },
      ],
    },
    {
      name: `getOrSet on a miss (L1 + L2), ${IN_FLIGHT} in flight`,
      setup,
      girder: concurrent((_, i) => girderTwo.getOrSet(missKey('g'), () => product(i))),
      peers: [
        {
          name: 'bentocache getOrSet (memory L1 + redis L2)',
          run: concurrent((_, i) =>
            bentoTwo.getOrSet({ key: missKey('b'), factory: () => product(i) }),
          ),
        },
      ],
    },
  ],
};
