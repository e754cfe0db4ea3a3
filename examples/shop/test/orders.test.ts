import { describe, expect, it } from 'vitest';
import { newProduct, newUser, placeOrder, stockOf, useAdminShop } from './helpers.js';

const t = useAdminShop();

describe('POST /api/orders', () => {
  it('places an order: 201 with order number, total and pending_payment, stock deducted', async () => {
    const user = await newUser(t.client);
    const a = await newProduct(t.client, t.admin, 5, { priceCents: 1_250 });
    const b = await newProduct(t.client, t.admin, 3, { priceCents: 500 });
    const res = await placeOrder(t.client, user, [
      { productId: a, quantity: 2 },
      { productId: b, quantity: 1 },
    ]);
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ status: 'pending_payment', totalCents: 3_000 });
    expect(res.body.orderNo).toMatch(/^\d{8}-[A-Z2-9]{8}$/);
    expect(res.body.items).toHaveLength(2);
    expect(await stockOf(t.client, a)).toBe(3);
    expect(await stockOf(t.client, b)).toBe(2);
  });

  it('rolls back every item when one is short, naming it: 409 OUT_OF_STOCK', async () => {
    const user = await newUser(t.client);
    const plenty = await newProduct(t.client, t.admin, 10);
    const scarce = await newProduct(t.client, t.admin, 1, { name: 'Scarce thing' });
    const res = await placeOrder(t.client, user, [
      { productId: plenty, quantity: 4 },
      { productId: scarce, quantity: 2 },
    ]);
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({
      code: 'OUT_OF_STOCK',
      details: { productId: scarce, requested: 2, available: 1, name: 'Scarce thing' },
    });
    expect(res.body.message).toContain('Scarce thing');
    expect(await stockOf(t.client, plenty)).toBe(10);
    expect(await stockOf(t.client, scarce)).toBe(1);
    const orders = await t.client.get('/api/orders', { token: user.accessToken });
    expect(orders.body.items).toEqual([]);
  });

  it('merges lines for the same product', async () => {
    const user = await newUser(t.client);
    const p = await newProduct(t.client, t.admin, 5);
    const res = await placeOrder(t.client, user, [
      { productId: p, quantity: 2 },
      { productId: p, quantity: 3 },
    ]);
    expect(res.status).toBe(201);
    expect(res.body.items).toEqual([expect.objectContaining({ productId: p, quantity: 5 })]);
    expect(await stockOf(t.client, p)).toBe(0);
  });

  it('never deducts twice for the same requestId, even concurrently', async () => {
    const user = await newUser(t.client);
    const p = await newProduct(t.client, t.admin, 10);
    const first = await placeOrder(t.client, user, [{ productId: p, quantity: 2 }], 'same-request');
    expect(first.status).toBe(201);
    const again = await placeOrder(t.client, user, [{ productId: p, quantity: 2 }], 'same-request');
    expect(again.status).toBe(200);
    expect(again.body.orderNo).toBe(first.body.orderNo);
    expect(await stockOf(t.client, p)).toBe(8);

    const burst = await Promise.all(
      Array.from({ length: 10 }, () =>
        placeOrder(t.client, user, [{ productId: p, quantity: 1 }], 'burst-request'),
      ),
    );
    expect(burst.filter((r) => r.status === 201)).toHaveLength(1);
    expect(burst.filter((r) => r.status === 200)).toHaveLength(9);
    expect(new Set(burst.map((r) => r.body.orderNo)).size).toBe(1);
    expect(await stockOf(t.client, p)).toBe(7);
  });

  it('refuses a requestId reused for different items: 409 REQUEST_ID_REUSED', async () => {
    const user = await newUser(t.client);
    const p = await newProduct(t.client, t.admin, 10);
    await placeOrder(t.client, user, [{ productId: p, quantity: 1 }], 'reused');
    const res = await placeOrder(t.client, user, [{ productId: p, quantity: 2 }], 'reused');
    expect(res.status).toBe(409);
    expect(res.body.code).toBe('REQUEST_ID_REUSED');
    expect(await stockOf(t.client, p)).toBe(9);
  });

  it('scopes requestIds per user', async () => {
    const [u1, u2] = [await newUser(t.client), await newUser(t.client)];
    const p = await newProduct(t.client, t.admin, 10);
    const a = await placeOrder(t.client, u1, [{ productId: p, quantity: 1 }], 'shared-id');
    const b = await placeOrder(t.client, u2, [{ productId: p, quantity: 1 }], 'shared-id');
    expect([a.status, b.status]).toEqual([201, 201]);
    expect(a.body.orderNo).not.toBe(b.body.orderNo);
  });

  it('404s an unknown product and changes no stock', async () => {
    const user = await newUser(t.client);
    const p = await newProduct(t.client, t.admin, 10);
    const res = await placeOrder(t.client, user, [
      { productId: p, quantity: 1 },
      { productId: 999_999, quantity: 1 },
    ]);
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ code: 'PRODUCT_NOT_FOUND', details: { productId: 999_999 } });
    expect(await stockOf(t.client, p)).toBe(10);
  });

  it.each([
    ['negative quantity', { items: [{ productId: 1, quantity: -1 }], requestId: 'r1' }],
    ['zero quantity', { items: [{ productId: 1, quantity: 0 }], requestId: 'r1' }],
    ['fractional quantity', { items: [{ productId: 1, quantity: 1.5 }], requestId: 'r1' }],
    ['huge quantity', { items: [{ productId: 1, quantity: 1e12 }], requestId: 'r1' }],
    ['string quantity', { items: [{ productId: 1, quantity: '2' }], requestId: 'r1' }],
    ['product id out of range', { items: [{ productId: 2 ** 31, quantity: 1 }], requestId: 'r1' }],
    ['no items', { items: [], requestId: 'r1' }],
    ['items not an array', { items: 'lots', requestId: 'r1' }],
    [
      'too many lines',
      {
        items: Array.from({ length: 21 }, (_, i) => ({ productId: i + 1, quantity: 1 })),
        requestId: 'r1',
      },
    ],
    ['missing requestId', { items: [{ productId: 1, quantity: 1 }] }],
    ['bad requestId', { items: [{ productId: 1, quantity: 1 }], requestId: 'has spaces' }],
    ['null body', null],
    ['array body', [1, 2]],
  ])('400s %s', async (_name, body) => {
    const user = await newUser(t.client);
    const res = await t.client.post('/api/orders', body, { token: user.accessToken });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ statusCode: 400, code: 'VALIDATION_FAILED' });
  });

  it('needs a token: 401', async () => {
    const res = await t.client.post('/api/orders', {
      items: [{ productId: 1, quantity: 1 }],
      requestId: 'x',
    });
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ statusCode: 401, error: 'Unauthorized', message: 'Unauthorized' });
  });
});

describe('GET /api/orders and /api/orders/:orderNo', () => {
  it('lists only the caller’s orders, newest first, and shows one with its payments', async () => {
    const [u1, u2] = [await newUser(t.client), await newUser(t.client)];
    const p = await newProduct(t.client, t.admin, 10);
    const first = await placeOrder(t.client, u1, [{ productId: p, quantity: 1 }]);
    const second = await placeOrder(t.client, u1, [{ productId: p, quantity: 2 }]);
    await placeOrder(t.client, u2, [{ productId: p, quantity: 1 }]);
    const list = await t.client.get('/api/orders', { token: u1.accessToken });
    expect(list.status).toBe(200);
    expect(list.body.items.map((o: { orderNo: string }) => o.orderNo).sort()).toEqual(
      [first.body.orderNo, second.body.orderNo].sort(),
    );
    const one = await t.client.get(`/api/orders/${first.body.orderNo}`, { token: u1.accessToken });
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({ orderNo: first.body.orderNo, payments: [] });
  });

  it('404s another user’s order and an unknown one', async () => {
    const [u1, u2] = [await newUser(t.client), await newUser(t.client)];
    const p = await newProduct(t.client, t.admin, 10);
    const order = await placeOrder(t.client, u1, [{ productId: p, quantity: 1 }]);
    const other = await t.client.get(`/api/orders/${order.body.orderNo}`, {
      token: u2.accessToken,
    });
    expect(other.status).toBe(404);
    expect(other.body.code).toBe('ORDER_NOT_FOUND');
    const unknown = await t.client.get('/api/orders/20250101-NOPE2345', { token: u1.accessToken });
    expect(unknown.status).toBe(404);
    const tooLong = await t.client.get(`/api/orders/${'x'.repeat(65)}`, { token: u1.accessToken });
    expect(tooLong.status).toBe(400);
  });
});

describe('POST /api/orders/:orderNo/cancel', () => {
  it('cancels a pending order and returns its stock exactly once', async () => {
    const user = await newUser(t.client);
    const a = await newProduct(t.client, t.admin, 5);
    const b = await newProduct(t.client, t.admin, 5);
    const order = await placeOrder(t.client, user, [
      { productId: a, quantity: 2 },
      { productId: b, quantity: 3 },
    ]);
    const path = `/api/orders/${order.body.orderNo}/cancel`;
    const results = await Promise.all(
      Array.from({ length: 5 }, () => t.client.post(path, undefined, { token: user.accessToken })),
    );
    for (const r of results) {
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ status: 'cancelled', cancelReason: 'user' });
    }
    const again = await t.client.post(path, undefined, { token: user.accessToken });
    expect(again.status).toBe(200);
    expect(await stockOf(t.client, a)).toBe(5);
    expect(await stockOf(t.client, b)).toBe(5);
  });

  it('404s another user’s order and leaves it alone', async () => {
    const [u1, u2] = [await newUser(t.client), await newUser(t.client)];
    const p = await newProduct(t.client, t.admin, 5);
    const order = await placeOrder(t.client, u1, [{ productId: p, quantity: 1 }]);
    const res = await t.client.post(`/api/orders/${order.body.orderNo}/cancel`, undefined, {
      token: u2.accessToken,
    });
    expect(res.status).toBe(404);
    expect(await stockOf(t.client, p)).toBe(4);
  });
});
