// `--cluster` for real: etcd, Redis and PostgreSQL started by the launcher, each service
// composed alone in its own process (one instance of each role here, to stay small), and
// the gateway in this process reaching them through etcd. Sign in as admin and as a new
// user over HTTP, place an order, pay it through the mock provider, see it paid (and the
// buyer notified by the notifications instance); close, and no child is left.
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import type { ClusterShop } from '../src/cluster/launch.js';
import { CLUSTER_ROLES } from '../src/cluster/roles.js';
import {
  adminLogin,
  Client,
  metricOf,
  newProduct,
  newUser,
  placeOrder,
  startTestCluster,
  stockOf,
} from './helpers.js';

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

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

async function eventually<T>(
  read: () => Promise<T>,
  ok: (value: T) => boolean,
  what: string,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > deadline)
      throw new Error(`still not true: ${what} (${JSON.stringify(value)})`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('npm run shop -- --cluster, for real', () => {
  it('serves sign-in, an order and its payment through services in their own processes', async () => {
    const lines: string[] = [];
    let running: ClusterShop | undefined;
    try {
      running = await startTestCluster({
        roles: CLUSTER_ROLES.map(({ role }) => ({ role, count: 1 })),
        output: (line) => lines.push(line),
      });
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${lines.slice(-40).join('\n')}`);
    }
    const { cluster, shop } = running;
    const instances = cluster.supervisor.instances();
    const servers = cluster.infra.servers;
    try {
      expect(shop.mode).toBe('gateway');
      expect(shop.rpc?.nodes).toEqual([]); // nothing served in the gateway
      expect(instances.map((i) => i.role).sort()).toEqual(CLUSTER_ROLES.map((r) => r.role).sort());
      expect(instances.every((i) => i.state === 'running' && i.pid !== process.pid)).toBe(true);

      const client = new Client(cluster.gatewayUrl);
      const admin = await adminLogin(client);
      const user = await newUser(client);
      const productId = await newProduct(client, admin, 5, { priceCents: 1_500 });
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
      const order = await eventually(
        () =>
          client
            .get(`/api/orders/${orderNo}`, { token: user.accessToken })
            .then((r) => r.body as { status: string; payments: Array<{ status: string }> }),
        (o) => o.status === 'paid',
        'the order paid',
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
      expect(await metricOf(shop, 'shop_orders_total', { event: 'placed' })).toBe(2);
      expect(await metricOf(shop, 'shop_orders_total', { event: 'cancelled_user' })).toBe(1);
      expect(await metricOf(shop, 'shop_orders_total', { event: 'paid' })).toBe(1);
      expect(await metricOf(shop, 'shop_payment_callbacks_total', { outcome: 'paid' })).toBe(1);

      // The outbox relay (payments) published order.paid; the notifications instance
      // consumed it and recorded the notice (asked through its own service).
      await eventually(
        () => shop.rpc!.clients.notifications.forOrder(orderNo),
        (n) => n !== null,
        'the buyer notified',
      );

      // The gateway's jobs view lists only what runs here: the ranking, under its election
      // (the sweeps run, and are shown, in the orders and payments processes).
      expect(shop.jobs.jobs).toEqual([]);
      const jobsView = (await client.get('/api/admin/ops', { token: admin.accessToken })).body;
      expect(jobsView.jobs.map((j: { name: string }) => j.name)).toEqual(['popular-products']);
      expect(jobsView.leaders.map((l: { name: string }) => l.name)).toEqual(['shop-jobs']);

      // A weight change goes through the instance into etcd, where the gateway sees it.
      expect(await cluster.control.setWeight('orders#1', 3)).toBe(3);
      const orders = shop.rpc!.registry.discover('orders');
      await orders.ready;
      await eventually(
        async () => orders.instances().map((i) => i.weight),
        (weights) => weights.length === 1 && weights[0] === 3,
        'weight 3 in etcd',
      );
      await orders.close();

      // Each role's tables are in its own database: orders in the orders one only.
      const urls = cluster.infra.endpoints.roleDatabaseUrls ?? {};
      expect(await tablesIn(urls.orders!)).toEqual(
        expect.arrayContaining(['order_items', 'orders']),
      );
      expect(await tablesIn(urls.gateway!)).not.toContain('orders');
      expect(await tablesIn(urls.gateway!)).toContain('product_views');
    } finally {
      await running.close();
    }
    for (const info of instances) expect(isAlive(info.pid!)).toBe(false);
    for (const server of servers) {
      if (server.origin.kind === 'started') expect(isAlive(server.origin.pid!)).toBe(false);
    }
  }, 240_000);
});
