// Stock 10, 200 concurrent orders from 200 different users: exactly 10 succeed.
import { expect, it } from 'vitest';
import { newProduct, placeOrder, quickUser, stockOf, useAdminShop } from './helpers.js';

const t = useAdminShop();

it('never oversells: 200 concurrent buyers, 10 in stock -> 10 orders, stock 0', async () => {
  const product = await newProduct(t.client, t.admin, 10);
  // 200 accounts, made through the services to keep the test quick (sign-up and login
  // over HTTP are covered in users.test.ts).
  const buyers = await Promise.all(Array.from({ length: 200 }, () => quickUser(t)));
  expect(new Set(buyers.map((b) => b.userId)).size).toBe(200);

  const results = await Promise.all(
    buyers.map((b) => placeOrder(t.client, b, [{ productId: product, quantity: 1 }])),
  );

  const statuses = results.map((r) => r.status);
  expect(statuses.filter((s) => s === 201)).toHaveLength(10);
  expect(statuses.filter((s) => s === 409)).toHaveLength(190);
  for (const r of results.filter((r) => r.status === 409)) expect(r.body.code).toBe('OUT_OF_STOCK');
  expect(await stockOf(t.client, product)).toBe(0);

  // The database agrees: 10 reservations of one unit each.
  const reserved = await t.shop.services.inventory.stockOf([product]);
  expect(reserved.get(product)).toBe(0);
  const orders = new Set(results.filter((r) => r.status === 201).map((r) => r.body.orderNo));
  expect(orders.size).toBe(10);
});

it('never oversells multi-item orders either: all-or-nothing under contention', async () => {
  const a = await newProduct(t.client, t.admin, 6);
  const b = await newProduct(t.client, t.admin, 4);
  const buyers = await Promise.all(Array.from({ length: 30 }, () => quickUser(t)));
  // Half order a+b, half order b+a (opposite line order: no deadlock, no partial deduction).
  const results = await Promise.all(
    buyers.map((buyer, i) =>
      placeOrder(
        t.client,
        buyer,
        i % 2 === 0
          ? [
              { productId: a, quantity: 1 },
              { productId: b, quantity: 1 },
            ]
          : [
              { productId: b, quantity: 1 },
              { productId: a, quantity: 1 },
            ],
      ),
    ),
  );
  const ok = results.filter((r) => r.status === 201).length;
  expect(ok).toBe(4);
  expect(results.every((r) => r.status === 201 || r.status === 409)).toBe(true);
  expect(await stockOf(t.client, a)).toBe(2);
  expect(await stockOf(t.client, b)).toBe(0);
});
