// Paying: the payment URL, the mock provider, signed and idempotent callbacks, refunds,
// and the breaker + retry in front of the provider.
import { manualClock } from 'girder/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sign } from '../src/payments/signature.js';
import {
  adminLogin,
  Client,
  metricOf,
  newProduct,
  newUser,
  placeOrder,
  type SignedIn,
  startShop,
  stockOf,
  type TestShop,
  useAdminShop,
} from './helpers.js';

const t = useAdminShop();
afterEach(() => {
  t.shop.mockProvider.setDown(false);
  t.shop.mockProvider.failNext(0);
});

async function pendingOrder(quantity = 1, stock = 10) {
  const user = await newUser(t.client);
  const productId = await newProduct(t.client, t.admin, stock, { priceCents: 2_500 });
  const placed = await placeOrder(t.client, user, [{ productId, quantity }]);
  expect(placed.status).toBe(201);
  return {
    user,
    productId,
    orderNo: placed.body.orderNo as string,
    total: placed.body.totalCents as number,
  };
}

const pay = (user: SignedIn, orderNo: string) =>
  t.client.post(`/api/orders/${orderNo}/pay`, undefined, { token: user.accessToken });

const getOrder = (user: SignedIn, orderNo: string) =>
  t.client.get(`/api/orders/${orderNo}`, { token: user.accessToken }).then((r) => r.body);

const postCallback = (body: string, headers: Record<string, string>) =>
  t.client.request('POST', '/api/payments/callback', { raw: body, headers });

describe('POST /api/orders/:orderNo/pay', () => {
  it('returns a checkout URL on the mock provider; paying there marks the order paid', async () => {
    const { user, orderNo, productId } = await pendingOrder(2);
    const res = await pay(user, orderNo);
    expect(res.status).toBe(200);
    expect(res.body.paymentUrl).toMatch(
      /^http:\/\/localhost:\d+\/mock-pay\/checkout\/mp_[0-9a-f]+$/,
    );

    // The buyer's browser: the checkout page, then the Pay button.
    const page = new URL(res.body.paymentUrl);
    const checkout = await t.client.get(page.pathname);
    expect(checkout.status).toBe(200);
    expect(checkout.headers.get('content-type')).toContain('text/html');
    expect(checkout.text).toContain('$50.00');
    const confirm = await t.client.request('POST', `${page.pathname}/pay`, {
      raw: '',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(confirm.status).toBe(303);
    expect(confirm.headers.get('location')).toMatch(new RegExp(`/#/orders/${orderNo}$`));

    const order = await getOrder(user, orderNo);
    expect(order.status).toBe('paid');
    expect(order.paidAt).not.toBeNull();
    expect(order.payments).toEqual([
      expect.objectContaining({ status: 'succeeded', amountCents: 5_000 }),
    ]);
    expect(await stockOf(t.client, productId)).toBe(8);

    const again = await pay(user, orderNo);
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('ORDER_ALREADY_PAID');
    const cancel = await t.client.post(`/api/orders/${orderNo}/cancel`, undefined, {
      token: user.accessToken,
    });
    expect(cancel.status).toBe(409);
    expect(cancel.body.code).toBe('ORDER_ALREADY_PAID');
  });

  it('resumes the open payment when asked twice', async () => {
    const { user, orderNo } = await pendingOrder();
    const [a, b] = await Promise.all([pay(user, orderNo), pay(user, orderNo)]);
    expect(a.status).toBe(200);
    expect(b.status).toBe(200);
    expect(b.body.paymentUrl).toBe(a.body.paymentUrl);
    const c = await pay(user, orderNo);
    expect(c.body.paymentUrl).toBe(a.body.paymentUrl);
    expect((await getOrder(user, orderNo)).payments).toHaveLength(1);
  });

  it('409s a cancelled order, 404s someone else’s or an unknown one', async () => {
    const { user, orderNo } = await pendingOrder();
    const other = await newUser(t.client);
    expect((await pay(other, orderNo)).status).toBe(404);
    expect((await pay(user, '20250101-UNKNOWN2')).status).toBe(404);
    await t.client.post(`/api/orders/${orderNo}/cancel`, undefined, { token: user.accessToken });
    const res = await pay(user, orderNo);
    expect(res.status).toBe(409);
    expect(res.body.code).toBe('ORDER_NOT_PAYABLE');
  });

  it('retries a flaky provider (girder retry) and succeeds', async () => {
    const { user, orderNo } = await pendingOrder();
    const calls = t.shop.mockProvider.apiCalls;
    t.shop.mockProvider.failNext(2);
    const res = await pay(user, orderNo);
    expect(res.status).toBe(200);
    expect(t.shop.mockProvider.apiCalls - calls).toBe(3);
    expect(
      await metricOf(t.shop, 'girder_retry_events_total', {
        name: 'payment-provider',
        kind: 'retry',
      }),
    ).toBeGreaterThan(0);
  });
});

describe('provider outage', () => {
  const clock = manualClock(Date.now());
  let o: TestShop;
  beforeAll(async () => {
    o = await startShop({}, { clock });
  });
  afterAll(() => o?.close());

  it('answers 503 while the provider is down, fails fast once the breaker opens, recovers after', async () => {
    const oAdmin = await adminLogin(o.client);
    const user = await newUser(o.client);
    const productId = await newProduct(o.client, oAdmin, 5);
    const orderNo = (await placeOrder(o.client, user, [{ productId, quantity: 1 }])).body.orderNo;
    const payOrder = () =>
      o.client.post(`/api/orders/${orderNo}/pay`, undefined, { token: user.accessToken });

    o.shop.mockProvider.setDown(true);
    let res = await payOrder();
    expect(res.status).toBe(503);
    expect(res.body.code).toMatch(/^PAYMENT_PROVIDER_/);
    // Keep failing until the breaker (5 consecutive failures) opens.
    for (let i = 0; i < 5 && o.shop.paymentBreaker.state === 'closed'; i++) res = await payOrder();
    expect(o.shop.paymentBreaker.state).toBe('open');
    const calls = o.shop.mockProvider.apiCalls;
    res = await payOrder();
    expect(res.status).toBe(503);
    expect(res.body.code).toBe('PAYMENT_PROVIDER_UNAVAILABLE');
    expect(o.shop.mockProvider.apiCalls).toBe(calls); // not even tried
    expect(
      await metricOf(o.shop, 'girder_breaker_state', { name: 'payment-provider', state: 'open' }),
    ).toBe(1);
    expect(
      await metricOf(o.shop, 'girder_breaker_events_total', {
        name: 'payment-provider',
        kind: 'rejected',
      }),
    ).toBeGreaterThan(0);
    // The order is still pending and can be paid once the provider is back.
    o.shop.mockProvider.setDown(false);
    clock.advance(10_000); // the breaker's open period
    res = await payOrder();
    expect(res.status).toBe(200);
    expect(o.shop.paymentBreaker.state).not.toBe('open');
  });
});

describe('POST /api/payments/callback', () => {
  async function paidSetup() {
    const setup = await pendingOrder();
    const res = await pay(setup.user, setup.orderNo);
    if (res.status !== 200) throw new Error(`pay failed: ${res.status} ${res.text}`);
    const providerId = res.body.paymentUrl.split('/').pop() as string;
    return { ...setup, providerId };
  }

  it('rejects a bad signature, a tampered body, a stale timestamp and missing headers: 401', async () => {
    const { providerId, user, orderNo } = await paidSetup();
    await t.shop.mockProvider.pay(providerId).catch(() => {});
    // (that one was genuine; now forge some)
    const { body, headers } = t.shop.mockProvider.callbackFor(providerId);
    const tampered = body.replace(/"amountCents":\d+/, '"amountCents":1');
    const forged = [
      postCallback(body, { ...headers, 'x-mockpay-signature': '0'.repeat(64) }),
      postCallback(tampered, headers),
      postCallback(body, { 'content-type': 'application/json' }),
      postCallback(body, { ...headers, 'x-mockpay-signature': 'not-hex' }),
      (() => {
        const old = Math.floor(Date.now() / 1000) - 3600;
        return postCallback(body, {
          ...headers,
          'x-mockpay-timestamp': String(old),
          'x-mockpay-signature': sign('test-payment-secret-1234', old, body),
        });
      })(),
      (() => {
        const ts = Math.floor(Date.now() / 1000);
        return postCallback(body, {
          ...headers,
          'x-mockpay-timestamp': String(ts),
          'x-mockpay-signature': sign('wrong-secret', ts, body),
        });
      })(),
    ];
    for (const res of await Promise.all(forged)) {
      expect(res.status).toBe(401);
      expect(res.body.code).toBe('BAD_SIGNATURE');
    }
    expect((await getOrder(user, orderNo)).status).toBe('paid');
  });

  it('is idempotent: a repeated callback changes nothing', async () => {
    const { providerId, user, orderNo, productId } = await paidSetup();
    await t.shop.mockProvider.pay(providerId);
    const { body, headers } = t.shop.mockProvider.callbackFor(providerId);
    const repeats = await Promise.all(Array.from({ length: 5 }, () => postCallback(body, headers)));
    for (const r of repeats) {
      expect(r.status).toBe(200);
      expect(r.body.outcome).toBe('duplicate');
    }
    const order = await getOrder(user, orderNo);
    expect(order.status).toBe('paid');
    expect(order.payments).toHaveLength(1);
    expect(await stockOf(t.client, productId)).toBe(9);
  });

  it('records and refunds a payment for a cancelled order', async () => {
    const { providerId, user, orderNo, productId } = await paidSetup();
    await t.client.post(`/api/orders/${orderNo}/cancel`, undefined, { token: user.accessToken });
    // The buyer pays anyway (a checkout tab left open): the provider calls back.
    expect(await t.shop.mockProvider.pay(providerId)).toBe(200);
    const order = await getOrder(user, orderNo);
    expect(order.status).toBe('cancelled');
    expect(order.payments[0].status).toBe('refunded');
    const payment = (await t.shop.services.payments.forOrder(orderNo))[0]!;
    expect(t.shop.mockProvider.refunds.get(payment.id)).toEqual({
      providerPaymentId: providerId,
      amountCents: 2_500,
    });
    expect(await stockOf(t.client, productId)).toBe(10);
    // A repeat of that callback is a duplicate: no second refund.
    const { body, headers } = t.shop.mockProvider.callbackFor(providerId);
    const res = await postCallback(body, headers);
    expect(res.body.outcome).toBe('duplicate');
    expect([...t.shop.mockProvider.refunds.keys()].filter((k) => k === payment.id)).toHaveLength(1);
  });

  it('keeps a refund that failed and retries it in the background job', async () => {
    const { providerId, user, orderNo } = await paidSetup();
    await t.client.post(`/api/orders/${orderNo}/cancel`, undefined, { token: user.accessToken });
    t.shop.mockProvider.setDown(true);
    expect(await t.shop.mockProvider.pay(providerId)).toBe(200);
    let order = await getOrder(user, orderNo);
    expect(order.payments[0].status).toBe('refund_pending');
    t.shop.mockProvider.setDown(false);
    // The breaker may have opened during the outage; the job retries until it lets calls through.
    const deadline = Date.now() + 15_000;
    while (order.payments[0].status !== 'refunded' && Date.now() < deadline) {
      await t.shop.runJobs();
      order = await getOrder(user, orderNo);
      if (order.payments[0].status !== 'refunded') await new Promise((r) => setTimeout(r, 200));
    }
    expect(order.payments[0].status).toBe('refunded');
  });

  it('404s an unknown payment and 400s malformed callbacks', async () => {
    const ts = Math.floor(Date.now() / 1000);
    const signed = (raw: string) => ({
      'content-type': 'application/json',
      'x-mockpay-timestamp': String(ts),
      'x-mockpay-signature': sign('test-payment-secret-1234', ts, raw),
    });
    const unknown = JSON.stringify({
      eventId: 'e1',
      merchantRef: 'nope',
      providerPaymentId: 'mp_x',
      status: 'succeeded',
      amountCents: 1,
    });
    const res = await postCallback(unknown, signed(unknown));
    expect(res.status).toBe(404);
    expect(res.body.code).toBe('PAYMENT_NOT_FOUND');
    const notJson = '{"eventId": ';
    expect((await postCallback(notJson, signed(notJson))).body.code).toBe('INVALID_JSON');
    const wrong = JSON.stringify({ eventId: 1 });
    const bad = await postCallback(wrong, signed(wrong));
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('VALIDATION_FAILED');
  });

  it('rejects a callback whose amount differs from the payment: 400, order untouched', async () => {
    const { providerId, user, orderNo } = await paidSetup();
    const payment = (await t.shop.services.payments.forOrder(orderNo))[0]!;
    const raw = JSON.stringify({
      eventId: `forged-${providerId}`,
      merchantRef: payment.id,
      providerPaymentId: providerId,
      status: 'succeeded',
      amountCents: 1,
    });
    const ts = Math.floor(Date.now() / 1000);
    const res = await postCallback(raw, {
      'content-type': 'application/json',
      'x-mockpay-timestamp': String(ts),
      'x-mockpay-signature': sign('test-payment-secret-1234', ts, raw),
    });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('AMOUNT_MISMATCH');
    expect((await getOrder(user, orderNo)).status).toBe('pending_payment');
  });
});

describe('the mock provider', () => {
  it('refuses API calls without its key and 404s unknown checkouts', async () => {
    const c = new Client(t.base);
    const res = await c.post('/mock-pay/api/payments', { merchantRef: 'x' });
    expect(res.status).toBe(401);
    expect((await c.get('/mock-pay/checkout/mp_unknown')).status).toBe(404);
  });
});
