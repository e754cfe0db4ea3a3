// Cluster scenario: one inventory instance is SIGKILLed (through the cluster control, as the
// ops page does) in the middle of a burst of checkouts by several buyers, each placing
// orders and paying or cancelling them. Afterwards: no order is lost (every order a buyer
// was given is readable and ends as driven, and no buyer has an order it was not given),
// none is charged twice (one succeeded payment per paid order, none for a cancelled one),
// stock is consistent (initial = available + reserved + sold, with nothing left reserved),
// and the traffic is on the survivor (the dead instance left the registry, the gateway's
// later inventory calls all went to the survivor, and checkouts still succeed).
// Destructive (one inventory instance stays dead): the last scenario on the shared cluster.
import { Etcd3 } from 'etcd3';
import { etcdRegistry } from 'girder/registry';
import { beforeAll, expect, it } from 'vitest';
import { callsByAddress, callsSince, type TestCluster } from '../cluster-helpers.js';
import { adminLogin, newProduct, newUser, type SignedIn } from '../helpers.js';

const BUYERS = 5;
const ORDERS_PER_BUYER = 5;
const INITIAL = 60;
/** The kill goes out once this many orders have been placed. */
const KILL_AFTER = 6;

// biome-ignore lint/suspicious/noExplicitAny: JSON bodies are read loosely and asserted on.
type Json = any;

export function killScenario(cluster: () => TestCluster) {
  let t: TestCluster;
  let admin: SignedIn;
  let products: number[];
  let buyers: SignedIn[];

  beforeAll(async () => {
    t = cluster();
    admin = await adminLogin(t.client);
    products = [];
    for (let i = 0; i < 3; i++)
      products.push(await newProduct(t.client, admin, INITIAL, { category: 'games' }));
    buyers = await Promise.all(Array.from({ length: BUYERS }, () => newUser(t.client)));
  }, 60_000);

  /**
   * What a client does when a call fails with a server error mid-incident: tries again (a
   * checkout is idempotent by its request id). A 4xx is the answer, not a failure.
   */
  async function retried(call: () => Promise<{ status: number; body: Json; text: string }>) {
    let last = { status: 0, body: undefined as Json, text: '' };
    for (let attempt = 0; attempt < 20; attempt++) {
      last = await call();
      if (last.status < 500) return last;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    throw new Error(`still failing after 20 attempts: ${last.status} ${last.text}`);
  }

  /** Available units of a product, read through the gateway's inventory client. */
  async function available(productId: number): Promise<number> {
    const res = await retried(() =>
      t.client.request('PATCH', `/api/admin/products/${productId}`, {
        body: { description: 'checked by cluster-kill' },
        token: admin.accessToken,
      }),
    );
    expect(res.status).toBe(200);
    return res.body.stock;
  }

  interface Driven {
    orderNo: string;
    productId: number;
    quantity: number;
    outcome: 'paid' | 'cancelled';
  }

  /** Places one order, then pays it (mock provider) or cancels it. */
  async function checkout(buyer: SignedIn, b: number, i: number, onPlaced: () => void) {
    const productId = products[(b + i) % products.length]!;
    const quantity = 1 + (i % 2);
    const placed = await retried(() =>
      t.client.post(
        '/api/orders',
        { items: [{ productId, quantity }], requestId: `kill-${b}-${i}` },
        { token: buyer.accessToken },
      ),
    );
    expect([200, 201], placed.text).toContain(placed.status);
    onPlaced();
    const orderNo: string = placed.body.orderNo;
    const outcome = i % 3 === 2 ? 'cancelled' : 'paid';
    if (outcome === 'paid') {
      const pay = await retried(() =>
        t.client.post(`/api/orders/${orderNo}/pay`, undefined, { token: buyer.accessToken }),
      );
      expect(pay.status, pay.text).toBe(200);
      expect(await t.shop.mockProvider.pay(pay.body.paymentUrl.split('/').pop())).toBe(200);
    } else {
      const cancel = await retried(() =>
        t.client.post(`/api/orders/${orderNo}/cancel`, undefined, { token: buyer.accessToken }),
      );
      expect(cancel.status, cancel.text).toBe(200);
    }
    return { orderNo, productId, quantity, outcome } satisfies Driven;
  }

  it('loses no order, charges none twice and keeps stock when an inventory instance dies mid-checkout', {
    timeout: 240_000,
  }, async () => {
    const inventory = t.running('inventory');
    expect(inventory).toHaveLength(2);
    const [victim, survivor] = inventory as [(typeof inventory)[0], (typeof inventory)[0]];
    const victimAddress = String(victim.facts.address);
    const survivorAddress = String(survivor.facts.address);
    // Both instances serve before the kill (the gateway's own stock reads alternate).
    const start = await callsByAddress('etcd:///inventory');
    const initial: number[] = [];
    for (const productId of [...products, products[0]!]) initial.push(await available(productId));
    expect(initial).toEqual([...products, 0].map(() => INITIAL));
    initial.pop();
    const first = callsSince(start, await callsByAddress('etcd:///inventory'));
    expect(first.get(victimAddress)).toBeGreaterThan(0);
    expect(first.get(survivorAddress)).toBeGreaterThan(0);

    // The burst: every buyer checks out back to back; the kill lands in the middle of it.
    let placed = 0;
    let placedAfterExit = 0;
    let exited = false;
    let killed: ReturnType<typeof t.cluster.control.kill> | undefined;
    const onPlaced = () => {
      if (exited) placedAfterExit++;
      if (++placed === KILL_AFTER) {
        killed = t.cluster.control.kill(victim.id, 'SIGKILL');
        void killed.then(() => {
          exited = true;
        });
      }
    };
    const driven = (
      await Promise.all(
        buyers.map(async (buyer, b) => {
          const mine: Driven[] = [];
          for (let i = 0; i < ORDERS_PER_BUYER; i++)
            mine.push(await checkout(buyer, b, i, onPlaced));
          return mine;
        }),
      )
    ).flat();
    expect(killed).toBeDefined();
    const exit = await killed!;
    expect(exit.signal).toBe('SIGKILL');
    // The burst went on across the death: orders were placed once the instance was gone.
    expect(placed).toBe(BUYERS * ORDERS_PER_BUYER);
    expect(placedAfterExit).toBeGreaterThan(0);

    // No order lost: each buyer has exactly the orders it was given, each as driven.
    const orderOf = async (buyer: SignedIn, orderNo: string) =>
      (await retried(() => t.client.get(`/api/orders/${orderNo}`, { token: buyer.accessToken })))
        .body;
    for (const [b, buyer] of buyers.entries()) {
      const mine = driven.filter((_, n) => Math.floor(n / ORDERS_PER_BUYER) === b);
      const listed = await retried(() => t.client.get('/api/orders', { token: buyer.accessToken }));
      expect(listed.body.items.map((o: Json) => o.orderNo).sort()).toEqual(
        mine.map((d) => d.orderNo).sort(),
      );
      for (const d of mine) {
        // Paid orders turn paid once the payment's outbox event reaches the orders service.
        await expect
          .poll(async () => (await orderOf(buyer, d.orderNo)).status, { timeout: 30_000 })
          .toBe(d.outcome);
        const order = await orderOf(buyer, d.orderNo);
        expect(order.items).toMatchObject([{ productId: d.productId, quantity: d.quantity }]);
        // None double-charged: one succeeded payment per paid order, none refunded; none
        // for a cancelled order.
        const succeeded = order.payments.filter((p: Json) => p.status === 'succeeded');
        expect(succeeded).toHaveLength(d.outcome === 'paid' ? 1 : 0);
        expect(order.payments.filter((p: Json) => p.status.startsWith('refund'))).toEqual([]);
      }
    }

    // Stock consistent: initial = available + reserved + sold; nothing is left reserved
    // (every order ended paid or cancelled), so available = initial - units paid for.
    for (const [n, productId] of products.entries()) {
      const sold = driven
        .filter((d) => d.productId === productId && d.outcome === 'paid')
        .reduce((sum, d) => sum + d.quantity, 0);
      expect(await available(productId)).toBe(initial[n]! - sold);
    }

    // Traffic moved: the dead instance left the registry (its lease ran out) ...
    const etcd = new Etcd3({ hosts: [...t.cluster.infra.endpoints.etcdEndpoints] });
    const registry = etcdRegistry(etcd, { prefix: 'shop/services', name: 'cluster-kill-check' });
    try {
      const discovery = registry.discover('inventory');
      await discovery.ready;
      await expect
        .poll(() => discovery.instances().map((i) => i.address), { timeout: 20_000 })
        .toEqual([survivorAddress]);
      await discovery.close();
    } finally {
      await registry.close();
      etcd.close();
    }
    // ... the gateway's inventory calls from now on all go to the survivor ...
    const before = await callsByAddress('etcd:///inventory');
    for (const productId of products) await available(productId);
    const since = callsSince(before, await callsByAddress('etcd:///inventory'));
    expect(since.get(survivorAddress)).toBeGreaterThanOrEqual(products.length);
    expect(since.get(victimAddress) ?? 0).toBe(0);
    // ... and a checkout still goes through end to end.
    const after = await checkout(buyers[0]!, 0, ORDERS_PER_BUYER + 1, () => {});
    expect(after.outcome).toBe('paid');
    await expect
      .poll(async () => (await orderOf(buyers[0]!, after.orderNo)).status, { timeout: 30_000 })
      .toBe('paid');
    expect(t.running('inventory').map((i) => i.id)).toEqual([survivor.id]);
  });
}
