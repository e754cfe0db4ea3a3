// The unpaid-order timeout, and what happens when a cancel, the timeout and a payment
// race for the same order: exactly one wins, stock comes back at most once, and money
// that arrives for a cancelled order is refunded.
import { manualClock } from 'girder/core';
import { describe, expect, it } from 'vitest';
import {
  metricOf,
  newProduct,
  newUser,
  placeOrder,
  type SignedIn,
  startShop,
  stockOf,
  useAdminShop,
} from './helpers.js';

const TIMEOUT_MS = 10 * 60_000;
const clock = manualClock(Date.now());
const t = useAdminShop(() =>
  startShop({ SHOP_ORDER_TIMEOUT: '10m', SHOP_SWEEP_INTERVAL: '30s' }, { clock }),
);

/** Orders cancelled by the timeout so far (the shop's own counter). */
const timeouts = async () =>
  (await metricOf(t.shop, 'shop_orders_total', { event: 'cancelled_timeout' })) ?? 0;

const order = (user: SignedIn, orderNo: string) =>
  t.client.get(`/api/orders/${orderNo}`, { token: user.accessToken }).then((r) => r.body);

const startPayment = async (user: SignedIn, orderNo: string) => {
  const res = await t.client.post(`/api/orders/${orderNo}/pay`, undefined, {
    token: user.accessToken,
  });
  expect(res.status).toBe(200);
  return res.body.paymentUrl.split('/').pop() as string;
};

describe('unpaid-order timeout', () => {
  it('cancels an unpaid order once its deadline passes and returns the stock', async () => {
    const user = await newUser(t.client);
    const p = await newProduct(t.client, t.admin, 5);
    const placed = await placeOrder(t.client, user, [{ productId: p, quantity: 3 }]);
    expect(new Date(placed.body.expiresAt).getTime()).toBe(clock.now() + TIMEOUT_MS);

    clock.set(clock.now() + TIMEOUT_MS - 1);
    expect((await t.shop.runJobs()).expired).toBe(0);
    expect((await order(user, placed.body.orderNo)).status).toBe('pending_payment');

    const before = await timeouts();
    clock.set(clock.now() + 1); // (may also wake the periodic job: either one expires it)
    await t.shop.runJobs();
    expect(await order(user, placed.body.orderNo)).toMatchObject({
      status: 'cancelled',
      cancelReason: 'timeout',
    });
    expect(await stockOf(t.client, p)).toBe(5);
    // Running again finds nothing: the stock came back once.
    expect((await t.shop.runJobs()).expired).toBe(0);
    expect((await timeouts()) - before).toBe(1);
    expect(await stockOf(t.client, p)).toBe(5);
  });

  it('is found by the periodic job on its own clock', async () => {
    const user = await newUser(t.client);
    const p = await newProduct(t.client, t.admin, 2);
    const placed = await placeOrder(t.client, user, [{ productId: p, quantity: 2 }]);
    // Nobody calls runJobs here: only the job's timer, on the injected clock, can cancel it.
    const deadline = Date.now() + 10_000;
    while (
      (await order(user, placed.body.orderNo)).status !== 'cancelled' &&
      Date.now() < deadline
    ) {
      await clock.advanceAsync(30_000);
      await new Promise((r) => setTimeout(r, 10));
    }
    expect((await order(user, placed.body.orderNo)).status).toBe('cancelled');
    expect(await stockOf(t.client, p)).toBe(2);
  });

  it('leaves paid orders alone', async () => {
    const user = await newUser(t.client);
    const p = await newProduct(t.client, t.admin, 2);
    const placed = await placeOrder(t.client, user, [{ productId: p, quantity: 1 }]);
    const paymentId = await startPayment(user, placed.body.orderNo);
    expect(await t.shop.mockProvider.pay(paymentId)).toBe(200);
    clock.set(clock.now() + TIMEOUT_MS + 1);
    await t.shop.runJobs();
    expect((await order(user, placed.body.orderNo)).status).toBe('paid');
    expect(await stockOf(t.client, p)).toBe(1);
  });

  it('expires concurrently running jobs exactly once', async () => {
    const user = await newUser(t.client);
    const p = await newProduct(t.client, t.admin, 9);
    for (let i = 0; i < 3; i++) await placeOrder(t.client, user, [{ productId: p, quantity: 3 }]);
    expect(await stockOf(t.client, p)).toBe(0);
    const before = await timeouts();
    clock.set(clock.now() + TIMEOUT_MS);
    await Promise.all([t.shop.runJobs(), t.shop.runJobs(), t.shop.runJobs()]);
    expect((await timeouts()) - before).toBe(3);
    expect(await stockOf(t.client, p)).toBe(9);
  });
});

describe('cancel vs timeout vs payment', () => {
  it('has exactly one winner per order; stock and money end consistent', async () => {
    const ROUNDS = 12;
    const p = await newProduct(t.client, t.admin, ROUNDS * 2);
    const user = await newUser(t.client);
    const placed: Array<{ orderNo: string; paymentId: string }> = [];
    for (let i = 0; i < ROUNDS; i++) {
      const res = await placeOrder(t.client, user, [{ productId: p, quantity: 2 }]);
      placed.push({
        orderNo: res.body.orderNo,
        paymentId: await startPayment(user, res.body.orderNo),
      });
    }
    expect(await stockOf(t.client, p)).toBe(0);
    const refundsBefore = t.shop.mockProvider.refunds.size;
    clock.set(clock.now() + TIMEOUT_MS);

    // All three contenders at once, in a different order each round.
    await Promise.all(
      placed.flatMap(({ orderNo, paymentId }, i) => {
        const contenders = [
          () =>
            t.client.post(`/api/orders/${orderNo}/cancel`, undefined, { token: user.accessToken }),
          () => t.shop.runJobs(),
          () => t.shop.mockProvider.pay(paymentId),
        ];
        return [0, 1, 2].map((k) => contenders[(k + i) % 3]!());
      }),
    );
    await t.shop.runJobs(); // retries any refund that lost a race with its own bookkeeping

    let paid = 0;
    for (const { orderNo } of placed) {
      const o = await order(user, orderNo);
      expect(['paid', 'cancelled']).toContain(o.status);
      expect(o.payments).toHaveLength(1);
      if (o.status === 'paid') {
        paid++;
        expect(o.payments[0].status).toBe('succeeded');
      } else {
        // The payment lost: its money was recorded and given back.
        expect(o.payments[0].status).toBe('refunded');
      }
    }
    expect(await stockOf(t.client, p)).toBe((ROUNDS - paid) * 2);
    expect(t.shop.mockProvider.refunds.size - refundsBefore).toBe(ROUNDS - paid);
  });

  it('refunds a payment that lands after the order was cancelled', async () => {
    const user = await newUser(t.client);
    const p = await newProduct(t.client, t.admin, 3);
    const placed = await placeOrder(t.client, user, [{ productId: p, quantity: 3 }]);
    const paymentId = await startPayment(user, placed.body.orderNo);
    await t.client.post(`/api/orders/${placed.body.orderNo}/cancel`, undefined, {
      token: user.accessToken,
    });
    const before = t.shop.mockProvider.refunds.size;
    expect(await t.shop.mockProvider.pay(paymentId)).toBe(200);
    const o = await order(user, placed.body.orderNo);
    expect(o.status).toBe('cancelled');
    expect(o.payments[0].status).toBe('refunded');
    expect(t.shop.mockProvider.refunds.size).toBe(before + 1);
    expect(await stockOf(t.client, p)).toBe(3);
  });
});
