// No transaction spans two services: the steps of a flow are separate and idempotent,
// and a crash between them is finished later. Here the crash is simulated by running
// the first step alone (a reservation whose order was never written; a paid order
// whose reservation commit was lost), on both transports.
import { manualClock } from 'girder/core';
import { describe, expect, it } from 'vitest';
import { newProduct, newUser, placeOrder, startShop, stockOf, useAdminShop } from './helpers.js';

const TIMEOUT_MS = 10 * 60_000;

describe.each(['direct', 'grpc'] as const)('%s transport', (transport) => {
  const clock = manualClock(Date.now());
  const t = useAdminShop(() =>
    startShop({ SHOP_ORDER_TIMEOUT: '10m', SHOP_SWEEP_INTERVAL: '1h' }, { clock, transport }),
  );

  it('returns a reservation whose order was never written, exactly once, after the timeout', async () => {
    const productId = await newProduct(t.client, t.admin, 5);
    const orderNo = `20250101-ORPHAN${transport === 'grpc' ? 'G2' : 'D2'}`;
    // Placement "crashed" after inventory reserved: no order row.
    await t.shop.services.inventory.reserve(orderNo, [{ productId, quantity: 3 }]);
    expect(await stockOf(t.client, productId)).toBe(2);

    await t.shop.runJobs(); // too young: a placement may still be writing its order
    expect(await stockOf(t.client, productId)).toBe(2);

    clock.set(Math.max(clock.now(), Date.now()) + TIMEOUT_MS + 60_000);
    await Promise.all([t.shop.runJobs(), t.shop.runJobs()]);
    await t.shop.runJobs();
    expect(await stockOf(t.client, productId)).toBe(5);
    // The order number is taken by a cancelled tombstone: a late insert cannot sell it.
    expect(await t.shop.services.orders.get(orderNo)).toMatchObject({
      status: 'cancelled',
      items: [],
    });
    // Reserving again under that number is the same reservation: nothing more is taken.
    await t.shop.services.inventory.reserve(orderNo, [{ productId, quantity: 3 }]);
    expect(await stockOf(t.client, productId)).toBe(5);
  });

  it('marks an order paid once per payment and settles its reservation', async () => {
    const productId = await newProduct(t.client, t.admin, 4);
    const user = await newUser(t.client);
    const placed = await placeOrder(t.client, user, [{ productId, quantity: 1 }]);
    const orderNo = placed.body.orderNo as string;
    const { orders, inventory } = t.shop.services;
    expect(await orders.markPaid(orderNo, 'pay-1')).toBe('paid');
    // A redelivery (the order.paid consumer, a retried call): the same answer, no change.
    expect(await orders.markPaid(orderNo, 'pay-1')).toBe('paid');
    // Another payment of the same order is told it is already paid (and gets refunded).
    expect(await orders.markPaid(orderNo, 'pay-2')).toBe('already_paid');
    // The reservation was committed: neither a release nor the sweep returns its stock.
    expect(await inventory.release(orderNo)).toBe(false);
    clock.set(Math.max(clock.now(), Date.now()) + TIMEOUT_MS + 60_000);
    await t.shop.runJobs();
    expect(await stockOf(t.client, productId)).toBe(3);
  });

  it('refuses a reservation id reused for other lines, taking nothing', async () => {
    const a = await newProduct(t.client, t.admin, 5);
    const b = await newProduct(t.client, t.admin, 5);
    const id = `20250101-REUSE${transport === 'grpc' ? 'G2' : 'D2'}`;
    await t.shop.services.inventory.reserve(id, [{ productId: a, quantity: 1 }]);
    await expect(
      t.shop.services.inventory.reserve(id, [
        { productId: a, quantity: 1 },
        { productId: b, quantity: 1 },
      ]),
    ).rejects.toMatchObject({ code: 'RESERVATION_MISMATCH' });
    expect(await stockOf(t.client, a)).toBe(4);
    expect(await stockOf(t.client, b)).toBe(5);
  });
});
