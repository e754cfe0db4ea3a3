// The popular page (topN over units sold, computed by the rankingJob on the jobs' leader)
// and the product-view counters, embedded (memory backends).
import { expect, it } from 'vitest';
import { buy, newProduct, placeOrder, quickUser, useAdminShop } from './helpers.js';

const t = useAdminShop();

it('ranks products by units sold in paid orders, with their views', async () => {
  const [x, y, z] = [
    await newProduct(t.client, t.admin, 50),
    await newProduct(t.client, t.admin, 50),
    await newProduct(t.client, t.admin, 50),
  ];
  await buy(t, await quickUser(t), y, 5);
  await buy(t, await quickUser(t), x, 2);
  await buy(t, await quickUser(t), x, 1);
  await buy(t, await quickUser(t), z, 3); // ties with x (3 units): the older product (x) ranks first
  // An unpaid order does not count.
  await placeOrder(t.client, await quickUser(t), [{ productId: z, quantity: 10 }]);
  for (let i = 0; i < 3; i++) await t.client.get(`/api/products/${y}`);

  expect(t.shop.jobs.election.isLeader).toBe(true);
  await t.shop.popular.job.refresh();
  const res = await t.client.get('/api/products/popular');
  expect(res.status).toBe(200);
  const ours = res.body.items.filter((e: { product: { id: number } }) =>
    [x, y, z].includes(e.product.id),
  );
  expect(
    ours.map((e: { product: { id: number }; sold: number }) => [e.product.id, e.sold]),
  ).toEqual([
    [y, 5],
    [x, 3],
    [z, 3],
  ]);
  expect(ours[0].views).toBe(3);
  expect(ours[1].views).toBe(0);
  expect(res.body.items.map((e: { rank: number }) => e.rank)).toEqual(
    res.body.items.map((_: unknown, i: number) => i + 1),
  );
});

it('counts each product page read once; an unknown product is a 404 and no view', async () => {
  const p = await newProduct(t.client, t.admin, 1);
  const views: number[] = [];
  for (let i = 0; i < 5; i++) views.push((await t.client.get(`/api/products/${p}`)).body.views);
  // The first read loads the counter from the database; the next ones increment it.
  expect(views).toEqual([1, 2, 3, 4, 5]);
  expect((await t.client.get('/api/products/999999')).status).toBe(404);
  expect((await t.client.get(`/api/products/${p}`)).body.views).toBe(6);
});
