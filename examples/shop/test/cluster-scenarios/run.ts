// Cluster scenario, `npm run shop -- --cluster` for real: etcd, Redis and PostgreSQL
// started by the launcher, each service composed alone in its own process, and the
// gateway in this process reaching them through etcd. Sign in as admin and as a new user
// over HTTP, place an order, pay it through the mock provider, see it paid (and the buyer
// notified by the notifications instance), cancel another; the gateway's counters; each
// role's tables in its own database; a weight set through the control seen in etcd.
// (That no child is left after close is checked by cluster-scenarios.test.ts, last.)

import pg from 'pg';
import { expect, it } from 'vitest';
import { CLUSTER_ROLES } from '../../src/cluster/roles.js';
import type { TestCluster } from '../cluster-helpers.js';
import { adminLogin, metricOf, newProduct, newUser, placeOrder, stockOf } from '../helpers.js';
import { eventuallyValue } from '../processes.js';

async function tablesIn(url: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ name: string }>(
      "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public'",
    );
    return rows.map((r) => r.name);
  } finally {
    await client.end();
  }
}

export function runScenario(cluster: () => TestCluster) {
  it('serves sign-in, an order and its payment through services in their own processes', async () => {
    const { cluster: running, shop, client } = cluster();
    const instances = running.supervisor.instances();
    expect(shop.mode).toBe('gateway');
    expect(shop.rpc?.nodes).toEqual([]); // nothing served in the gateway
    // The launcher's layout: one process per instance of each role.
    expect(instances.map((i) => i.role).sort()).toEqual(
      CLUSTER_ROLES.flatMap(({ role, count }) => Array<string>(count).fill(role)).sort(),
    );
    expect(instances.every((i) => i.state === 'running' && i.pid !== process.pid)).toBe(true);

    // The gateway's counters are read as differences: other scenarios share the gateway.
    const counter = async (name: string, labels: Record<string, string>) =>
      (await metricOf(shop, name, labels)) ?? 0;
    const counters = async () => ({
      placed: await counter('shop_orders_total', { event: 'placed' }),
      cancelled: await counter('shop_orders_total', { event: 'cancelled_user' }),
      paid: await counter('shop_orders_total', { event: 'paid' }),
      callbacks: await counter('shop_payment_callbacks_total', { outcome: 'paid' }),
    });
    const before = await counters();

    const admin = await adminLogin(client);
    const user = await newUser(client);
    const productId = await newProduct(client, admin, 5, { priceCents: 1_500, category: 'games' });
    expect(await stockOf(client, productId)).toBe(5);

    const placed = await placeOrder(client, user, [{ productId, quantity: 2 }]);
    expect(placed.status).toBe(201);
    const orderNo = placed.body.orderNo as string;
    expect(await stockOf(client, productId)).toBe(3);

    // Pay: the payments instance asks the gateway's mock provider for a checkout page...
    const pay = await client.post(`/api/orders/${orderNo}/pay`, undefined, {
      token: user.accessToken,
    });
    expect(pay.status).toBe(200);
    const page = new URL(pay.body.paymentUrl);
    // ...the buyer pays there, and the provider's callback reaches payments, then orders.
    const confirm = await client.request('POST', `${page.pathname}/pay`, {
      raw: '',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(confirm.status).toBe(303);
    const order = await eventuallyValue(
      () =>
        client
          .get(`/api/orders/${orderNo}`, { token: user.accessToken })
          .then((r) => r.body as { status: string; payments: Array<{ status: string }> }),
      (o) => o.status === 'paid',
      'the order paid',
      30_000,
    );
    expect(order.payments).toEqual([expect.objectContaining({ status: 'succeeded' })]);
    expect(await stockOf(client, productId)).toBe(3);

    // A second order, cancelled by its buyer: the stock comes back.
    const second = await placeOrder(client, user, [{ productId, quantity: 1 }]);
    expect(second.status).toBe(201);
    const cancelled = await client.post(`/api/orders/${second.body.orderNo}/cancel`, undefined, {
      token: user.accessToken,
    });
    expect(cancelled.status).toBe(200);
    expect(await stockOf(client, productId)).toBe(3);

    // The gateway's counters follow its calls: placed, then paid by the callback.
    const after = await counters();
    expect(after.placed - before.placed).toBe(2);
    expect(after.cancelled - before.cancelled).toBe(1);
    expect(after.paid - before.paid).toBe(1);
    expect(after.callbacks - before.callbacks).toBe(1);

    // The outbox relay (payments) published order.paid; the notifications instance
    // consumed it and recorded the notice (asked through its own service).
    await eventuallyValue(
      () => shop.rpc!.clients.notifications.forOrder(orderNo),
      (n) => n !== null,
      'the buyer notified',
      30_000,
    );

    // The gateway's jobs view lists only what runs here: the ranking, under its election
    // (the sweeps run, and are shown, in the orders and payments processes).
    expect(shop.jobs.jobs).toEqual([]);
    const jobsView = (await client.get('/api/admin/ops', { token: admin.accessToken })).body;
    expect(jobsView.jobs.map((j: { name: string }) => j.name)).toEqual(['popular-products']);
    expect(jobsView.leaders.map((l: { name: string }) => l.name)).toEqual(['shop-jobs']);

    // A weight change goes through the instance into etcd, where the gateway sees it
    // (and back to 1, as the next scenarios expect).
    const address = String(
      running.control.instances().find((i) => i.id === 'orders#1')?.facts.address,
    );
    const orders = shop.rpc!.registry.discover('orders');
    await orders.ready;
    const weightOf = async () => orders.instances().find((i) => i.address === address)?.weight;
    try {
      expect(await running.control.setWeight('orders#1', 3)).toBe(3);
      await eventuallyValue(weightOf, (w) => w === 3, 'weight 3 in etcd', 30_000);
    } finally {
      await running.control.setWeight('orders#1', 1);
      await eventuallyValue(weightOf, (w) => w === 1, 'weight 1 in etcd', 30_000);
      await orders.close();
    }

    // Each role's tables are in its own database: orders in the orders one only.
    const urls = running.infra.endpoints.roleDatabaseUrls ?? {};
    expect(await tablesIn(urls.orders!)).toEqual(expect.arrayContaining(['order_items', 'orders']));
    expect(await tablesIn(urls.gateway!)).not.toContain('orders');
    expect(await tablesIn(urls.gateway!)).toContain('product_views');
  }, 120_000);
}
