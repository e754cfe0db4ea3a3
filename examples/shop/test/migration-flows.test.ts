// The flows without cross-service transactions (see cross-service.test.ts) during the
// live migration of `orders`: in each dual-write phase, the sweep's cancelled
// placeholder for an orphan reservation and the per-payment `paid_by` go through the
// migrating OrderRows, so they land on the side in charge and are copied to the other.
import { manualClock } from 'girder/core';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../src/db/schema.js';
import { newProduct, newUser, placeOrder, stockOf, useAdminShop } from './helpers.js';
import { startMigratingShop } from './migration-shop.js';

const TIMEOUT_MS = 10 * 60_000;
const clock = manualClock(Date.now());
const t = useAdminShop(() =>
  startMigratingShop({ SHOP_ORDER_TIMEOUT: '10m', SHOP_SWEEP_INTERVAL: '1h' }, { clock }),
);

const rowOn = (db: Db, orderNo: string) =>
  db.selectFrom('orders').selectAll().where('order_no', '=', orderNo).executeTakeFirst();

describe.each([
  ['source-first', 'main', 'target'],
  ['target-first', 'target', 'main'],
  ['target-only', 'target', undefined],
] as const)('in %s', (phase, inCharge, copy) => {
  const db = (side: 'main' | 'target') =>
    side === 'main' ? t.shop.migration!.main : t.shop.migration!.target.db;

  beforeAll(async () => {
    const switched = await t.client.post(
      '/api/admin/migration/phase',
      { to: phase, force: true },
      { token: t.admin.accessToken },
    );
    expect(switched.status).toBe(200);
    expect(t.shop.migration!.phase.phase).toBe(phase);
  });

  it('settles an orphan reservation once, with its placeholder on the side in charge', async () => {
    const productId = await newProduct(t.client, t.admin, 5);
    const orderNo = `20250101-MIG${phase.replace('-', '').toUpperCase().slice(0, 8)}`;
    await t.shop.services.inventory.reserve(orderNo, [{ productId, quantity: 2 }]);
    clock.set(Math.max(clock.now(), Date.now()) + TIMEOUT_MS + 60_000);
    await Promise.all([t.shop.runJobs(), t.shop.runJobs()]);
    await t.shop.runJobs();
    expect(await stockOf(t.client, productId)).toBe(5);
    expect(await t.shop.services.orders.get(orderNo)).toMatchObject({
      status: 'cancelled',
      items: [],
    });
    expect(await rowOn(db(inCharge), orderNo)).toMatchObject({ status: 'cancelled' });
    if (copy) expect(await rowOn(db(copy), orderNo)).toMatchObject({ status: 'cancelled' });
  });

  it('marks an order paid once per payment, paid_by on both sides', async () => {
    const productId = await newProduct(t.client, t.admin, 4);
    const user = await newUser(t.client);
    const placed = await placeOrder(t.client, user, [{ productId, quantity: 1 }]);
    expect(placed.status).toBe(201);
    const orderNo = placed.body.orderNo as string;
    const { orders } = t.shop.services;
    expect(await orders.markPaid(orderNo, 'pay-1')).toBe('paid');
    expect(await orders.markPaid(orderNo, 'pay-1')).toBe('paid');
    expect(await orders.markPaid(orderNo, 'pay-2')).toBe('already_paid');
    expect(await rowOn(db(inCharge), orderNo)).toMatchObject({ status: 'paid', paid_by: 'pay-1' });
    if (copy) {
      expect(await rowOn(db(copy), orderNo)).toMatchObject({ status: 'paid', paid_by: 'pay-1' });
    }
    // The reservation was committed: the sweep gives nothing back.
    clock.set(Math.max(clock.now(), Date.now()) + TIMEOUT_MS + 60_000);
    await t.shop.runJobs();
    expect(await stockOf(t.client, productId)).toBe(3);
  });
});
