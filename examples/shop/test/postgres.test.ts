// The same guarantees on a real PostgreSQL, where transactions really run in parallel
// (PGlite runs one at a time): no oversell, exactly-once cancel/timeout/payment.
// Runs on a throwaway cluster the test harness starts (Debian's `postgresql`, installed
// with apt-get when missing and allowed), or on SHOP_TEST_DATABASE_URL when set, e.g.
// SHOP_TEST_DATABASE_URL=postgres://user@host:port/postgres npx vitest run examples/shop
// Either way the test creates a throwaway database and drops it afterwards.
import { manualClock } from 'girder/core';
import { memoryLogger } from 'girder/logger';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  adminLogin,
  newProduct,
  placeOrder,
  quickUser,
  type SignedIn,
  startShop,
  stockOf,
  type TestShop,
} from './helpers.js';
import { queryOn, type ThrowawayDatabase, throwawayDatabase } from './pg-database.js';

describe('on PostgreSQL', () => {
  const clock = manualClock(Date.now());
  const logger = memoryLogger();
  let t: TestShop;
  let admin: SignedIn;

  let database: ThrowawayDatabase | undefined;

  beforeAll(async () => {
    database = await throwawayDatabase('shop_test');
    t = await startShop(
      { DATABASE_URL: database.url, SHOP_ORDER_TIMEOUT: '10m' },
      { clock, logger },
    );
    admin = await adminLogin(t.client);
  }, 60_000);

  afterAll(async () => {
    await t?.close();
    await database?.drop();
  });

  it('runs the migrations and seeds', async () => {
    const health = await t.client.get('/healthz');
    expect(health.body.database).toMatch(/^PostgreSQL \(/);
    expect((await t.client.get('/api/products')).body.total).toBe(12);
  });

  it('outlives the server dropping its idle connections, and reconnects', async () => {
    expect((await t.client.get('/api/products')).status).toBe(200);
    // What a restart or failover does to the pool's idle connections. Unheard, pg's
    // 'error' event on the pool would crash the process (and fail this run).
    const [dropped] = await queryOn<{ n: string }>(
      database!.url,
      `SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity
        WHERE datname = current_database() AND pid <> pg_backend_pid()`,
    );
    expect(Number(dropped!.n)).toBeGreaterThan(0);
    await expect
      .poll(() => logger.entries.filter((e) => e.msg.startsWith('database connection lost')))
      .not.toHaveLength(0);
    expect((await t.client.get('/api/products')).body.total).toBeGreaterThanOrEqual(12);
  });

  it('never oversells: 200 concurrent buyers, 10 in stock', async () => {
    const product = await newProduct(t.client, admin, 10);
    const buyers = await Promise.all(Array.from({ length: 200 }, () => quickUser(t)));
    const results = await Promise.all(
      buyers.map((b) => placeOrder(t.client, b, [{ productId: product, quantity: 1 }])),
    );
    expect(results.filter((r) => r.status === 201)).toHaveLength(10);
    expect(results.filter((r) => r.status === 409)).toHaveLength(190);
    expect(await stockOf(t.client, product)).toBe(0);
  });

  it('multi-item orders in opposite line order neither deadlock nor deduct partially', async () => {
    const a = await newProduct(t.client, admin, 6);
    const b = await newProduct(t.client, admin, 4);
    const buyers = await Promise.all(Array.from({ length: 40 }, () => quickUser(t)));
    const results = await Promise.all(
      buyers.map((buyer, i) =>
        placeOrder(t.client, buyer, [
          { productId: i % 2 ? a : b, quantity: 1 },
          { productId: i % 2 ? b : a, quantity: 1 },
        ]),
      ),
    );
    expect(results.filter((r) => r.status === 201)).toHaveLength(4);
    expect(results.every((r) => r.status === 201 || r.status === 409)).toBe(true);
    expect(await stockOf(t.client, a)).toBe(2);
    expect(await stockOf(t.client, b)).toBe(0);
  });

  it('same requestId in parallel: one order, one deduction', async () => {
    const p = await newProduct(t.client, admin, 10);
    const user = await quickUser(t);
    const burst = await Promise.all(
      Array.from({ length: 20 }, () =>
        placeOrder(t.client, user, [{ productId: p, quantity: 1 }], 'pg-burst'),
      ),
    );
    expect(burst.filter((r) => r.status === 201)).toHaveLength(1);
    expect(new Set(burst.map((r) => r.body.orderNo)).size).toBe(1);
    expect(await stockOf(t.client, p)).toBe(9);
  });

  it('cancel, timeout and payment racing: one winner per order, stock and money consistent', async () => {
    const ROUNDS = 15;
    const p = await newProduct(t.client, admin, ROUNDS);
    const user = await quickUser(t);
    const placed: Array<{ orderNo: string; paymentId: string }> = [];
    for (let i = 0; i < ROUNDS; i++) {
      const res = await placeOrder(t.client, user, [{ productId: p, quantity: 1 }]);
      const pay = await t.client.post(`/api/orders/${res.body.orderNo}/pay`, undefined, {
        token: user.accessToken,
      });
      placed.push({ orderNo: res.body.orderNo, paymentId: pay.body.paymentUrl.split('/').pop() });
    }
    const refundsBefore = t.shop.mockProvider.refunds.size;
    clock.set(clock.now() + 10 * 60_000);
    await Promise.all(
      placed.flatMap(({ orderNo, paymentId }) => [
        t.client.post(`/api/orders/${orderNo}/cancel`, undefined, { token: user.accessToken }),
        t.shop.runJobs(),
        t.shop.mockProvider.pay(paymentId),
      ]),
    );
    await t.shop.runJobs();
    let paid = 0;
    for (const { orderNo } of placed) {
      const o = (await t.client.get(`/api/orders/${orderNo}`, { token: user.accessToken })).body;
      if (o.status === 'paid') {
        paid++;
        expect(o.payments[0].status).toBe('succeeded');
      } else {
        expect(o.status).toBe('cancelled');
        expect(o.payments[0].status).toBe('refunded');
      }
    }
    expect(await stockOf(t.client, p)).toBe(ROUNDS - paid);
    expect(t.shop.mockProvider.refunds.size - refundsBefore).toBe(ROUNDS - paid);
  });
});
