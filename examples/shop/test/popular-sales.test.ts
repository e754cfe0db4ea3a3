// The popular-sales consumer's load of units sold, now asked of the orders service (issue
// 17: the gateway no longer joins the orders tables): keyset pages up to 1 000 products.
import { describe, expect, it } from 'vitest';
import { unitsSold } from '../src/compose/popular-sales.js';
import type { OrdersService } from '../src/orders/service.js';

/** An orders service whose paid orders sold `sold(id)` units of products 1..`products`. */
function ordersSelling(products: number, sold = (id: number) => id % 7) {
  const calls: Array<[number | undefined, number]> = [];
  const orders: Pick<OrdersService, 'unitsSoldPage'> = {
    async unitsSoldPage(after, limit) {
      calls.push([after, limit]);
      const items = [];
      for (let id = (after ?? 0) + 1; id <= products && items.length < limit; id++) {
        items.push({ productId: id, sold: sold(id) });
      }
      return items;
    },
  };
  return { orders, calls };
}

describe('unitsSold', () => {
  it('reads every product in keyset pages', async () => {
    const { orders, calls } = ordersSelling(700);
    const sold = await unitsSold(orders);
    expect(Object.keys(sold)).toHaveLength(700);
    expect(sold['13']).toBe(6);
    expect(calls).toEqual([
      [undefined, 500],
      [500, 500],
    ]);
  });

  it('stops at 1 000 products, as the joined query did', async () => {
    const { orders, calls } = ordersSelling(1_500);
    const sold = await unitsSold(orders);
    expect(Object.keys(sold)).toHaveLength(1_000);
    expect(sold['1000']).toBe(1_000 % 7);
    expect(sold['1001']).toBeUndefined();
    expect(calls).toEqual([
      [undefined, 500],
      [500, 500],
    ]);
  });

  it('is empty when nothing was sold', async () => {
    const { orders, calls } = ordersSelling(0);
    expect(await unitsSold(orders)).toEqual({});
    expect(calls).toEqual([[undefined, 500]]);
  });
});
