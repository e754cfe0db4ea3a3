// Two shop instances on one PostgreSQL and one Redis (REDIS_URL): the background jobs
// run on one instance only (girder/jobs leader election over redisLock) and move to the
// other when the leader closes; the catalog cache (girder/cache, L1 + Redis L2 + bus)
// shows a write made on one instance to reads on the other right after.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sharedRedisUrl, uniquePrefix } from '../../../test/harness/index.js';
import {
  adminLogin,
  newProduct,
  placeOrder,
  quickUser,
  type SignedIn,
  startShop,
  type TestShop,
} from './helpers.js';
import { type ThrowawayDatabase, throwawayDatabase } from './pg-database.js';

let database: ThrowawayDatabase | undefined;
let a: TestShop;
let b: TestShop;
let admin: SignedIn;

/** Runs started per job on one instance, from now on. */
const countRuns = (t: TestShop) => {
  const runs = { 'expire-orders': 0, 'retry-refunds': 0 };
  for (const job of t.shop.jobs.jobs) {
    job.events.on('started', ({ name: job }) => {
      runs[job as keyof typeof runs]++;
    });
  }
  return runs;
};

beforeAll(async () => {
  database = await throwawayDatabase('shop_cluster');
  const env = {
    DATABASE_URL: database.url,
    REDIS_URL: sharedRedisUrl(),
    SHOP_REDIS_PREFIX: uniquePrefix('shop'),
    SHOP_SWEEP_INTERVAL: '200ms',
    SHOP_REFUND_RETRY_INTERVAL: '200ms',
    SHOP_LEADER_TTL: '1s',
  };
  // One after the other: the first migrates and seeds the shared database.
  a = await startShop(env);
  b = await startShop(env);
  admin = await adminLogin(a.client);
}, 60_000);

afterAll(async () => {
  await a?.close();
  await b?.close();
  await database?.drop();
});

describe('catalog cache across instances', () => {
  it('a stock change on one instance is seen by the other right after', async () => {
    const p = await newProduct(a.client, admin, 5);
    // B caches the product and a list page holding it.
    const stockOnB = async () => (await b.client.get(`/api/products/${p}`)).body.stock;
    const listedOnB = async () => {
      const page = await b.client.get('/api/products?pageSize=100');
      return page.body.items.find((i: { id: number }) => i.id === p)?.stock;
    };
    expect(await stockOnB()).toBe(5);
    expect(await listedOnB()).toBe(5);
    // A sets the stock: B's next reads show it once the bus message lands.
    const put = await a.client.put(
      `/api/admin/products/${p}/stock`,
      { stock: 3 },
      { token: admin.accessToken },
    );
    expect(put.status).toBe(200);
    await expect.poll(stockOnB, { timeout: 2_000, interval: 20 }).toBe(3);
    await expect.poll(listedOnB, { timeout: 2_000, interval: 20 }).toBe(3);

    // An order on A takes stock: B sees it.
    const buyer = await quickUser(a);
    const placed = await placeOrder(a.client, buyer, [{ productId: p, quantity: 2 }]);
    expect(placed.status).toBe(201);
    await expect.poll(stockOnB, { timeout: 2_000, interval: 20 }).toBe(1);
    await expect.poll(listedOnB, { timeout: 2_000, interval: 20 }).toBe(1);

    // Cancelling it on A returns the stock: B sees that too.
    const cancel = await a.client.post(`/api/orders/${placed.body.orderNo}/cancel`, undefined, {
      token: buyer.accessToken,
    });
    expect(cancel.status).toBe(200);
    await expect.poll(stockOnB, { timeout: 2_000, interval: 20 }).toBe(3);
  });

  it('an admin price change on one instance is seen by the other right after', async () => {
    const p = await newProduct(b.client, admin, 1, { priceCents: 1_000 });
    const priceOnB = async () => (await b.client.get(`/api/products/${p}`)).body.priceCents;
    expect(await priceOnB()).toBe(1_000);
    const patch = await a.client.request('PATCH', `/api/admin/products/${p}`, {
      body: { priceCents: 1_250 },
      token: admin.accessToken,
    });
    expect(patch.status).toBe(200);
    expect(patch.body.priceCents).toBe(1_250);
    await expect.poll(priceOnB, { timeout: 2_000, interval: 20 }).toBe(1_250);
  });

  it('serves repeated reads from the cache', async () => {
    const l1HitsOnB = async () => {
      const ops = await b.client.get('/api/admin/ops', { token: admin.accessToken });
      return ops.body.caches.find(
        (c: { cache: string; layer: string }) => c.cache === 'catalog' && c.layer === 'l1',
      ).hits as number;
    };
    const before = await l1HitsOnB();
    for (let i = 0; i < 5; i++) await b.client.get('/api/products?page=1&pageSize=7');
    // The first read may load; the other four are L1 hits.
    expect((await l1HitsOnB()) - before).toBeGreaterThanOrEqual(4);
  });
});

describe('background jobs across instances', () => {
  it('each job runs on one instance only, and moves when that instance closes', async () => {
    await expect
      .poll(() => a.shop.jobs.election.isLeader !== b.shop.jobs.election.isLeader)
      .toBe(true);
    const leader = a.shop.jobs.election.isLeader ? a : b;
    const follower = leader === a ? b : a;
    const onLeader = countRuns(leader);
    const onFollower = countRuns(follower);
    // A few periods (200 ms each).
    await expect
      .poll(() => Math.min(onLeader['expire-orders'], onLeader['retry-refunds']), {
        timeout: 5_000,
      })
      .toBeGreaterThanOrEqual(4);
    expect(onFollower).toEqual({ 'expire-orders': 0, 'retry-refunds': 0 });

    // The leader closes (steps down): the other instance takes over within TTL + a poll.
    await leader.close(); // close() is idempotent: afterAll closing it again is harmless
    await expect.poll(() => follower.shop.jobs.election.isLeader, { timeout: 3_000 }).toBe(true);
    await expect
      .poll(() => Math.min(onFollower['expire-orders'], onFollower['retry-refunds']), {
        timeout: 3_000,
      })
      .toBeGreaterThanOrEqual(2);
  });
});
