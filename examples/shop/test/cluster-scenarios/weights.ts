// Cluster scenario, weighted traffic: the two orders instances get weights 3 and 1 in the
// registry (through the cluster control's setWeight, as the ops page does), and the
// gateway's calls to the orders service split 3:1 within 5%; swapped to 1:3, the split
// follows. Calls are counted per instance by the gateway's own channels (grpc-js
// channelz: what was sent to each address). Both go back to weight 1 afterwards, and the
// scenario waits until the gateway's cluster panel shows it (the panel scenario starts
// from there).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { callsByAddress, callsSince, type TestCluster } from '../cluster-helpers.js';
import { adminLogin, newUser, type SignedIn } from '../helpers.js';
import { eventuallyValue } from '../processes.js';

/** Gateway calls to orders per measurement. */
const CALLS = 400;
const CONCURRENCY = 8;
const TARGET = 'etcd:///orders';

// biome-ignore lint/suspicious/noExplicitAny: JSON bodies are read loosely.
type Json = any;

export function weightsScenario(cluster: () => TestCluster) {
  let t: TestCluster;
  let buyer: SignedIn;

  beforeAll(async () => {
    t = cluster();
    buyer = await newUser(t.client);
  }, 60_000);

  afterAll(async () => {
    const orders = t.running('orders').map((i) => i.id);
    for (const id of orders) await t.cluster.control.setWeight(id, 1);
    const admin = await adminLogin(t.client);
    await eventuallyValue(
      async () =>
        (await t.client.get('/api/admin/cluster', { token: admin.accessToken })).body as Json,
      (snap) =>
        snap.services
          .find((s: Json) => s.name === 'orders')
          .instances.every((i: Json) => i.weight === 1),
      'both orders instances back at weight 1 on the panel',
      30_000,
    );
  }, 60_000);

  /** `calls` gateway calls to the orders service (GET /api/orders: one orders.list each). */
  async function callOrders(calls: number): Promise<void> {
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < calls) {
          next++;
          const res = await t.client.get('/api/orders', { token: buyer.accessToken });
          expect(res.status, res.text).toBe(200);
        }
      }),
    );
  }

  /** Calls per orders instance address while `calls` gateway calls are made. */
  async function split(calls: number): Promise<Map<string, number>> {
    const before = await callsByAddress(TARGET);
    await callOrders(calls);
    return callsSince(before, await callsByAddress(TARGET));
  }

  /** Sets the weights, then waits until the gateway's balancer follows them. */
  async function weigh(heavy: string, light: string, heavyAddress: string) {
    // The light one first: the way there passes through 1:1, never through 3:3.
    expect(await t.cluster.control.setWeight(light, 1)).toBe(1);
    expect(await t.cluster.control.setWeight(heavy, 3)).toBe(3);
    // The registry change reaches the gateway through its etcd watch: probe with small
    // batches until one splits 3:1 (SWRR interleaves exactly, so a batch of 40 gives 30,
    // give or take a background call; the old 1:1 gives 20).
    await expect
      .poll(async () => (await split(40)).get(heavyAddress) ?? 0, {
        timeout: 60_000,
        interval: 200,
      })
      .toSatisfy((n: number) => n >= 28 && n <= 32);
  }

  function expectThreeToOne(counts: Map<string, number>, heavy: string, light: string) {
    const h = counts.get(heavy) ?? 0;
    const l = counts.get(light) ?? 0;
    // Every call went to one of the two (background calls may add a few).
    expect(h + l).toBeGreaterThanOrEqual(CALLS);
    expect([...counts.keys()].sort()).toEqual([heavy, light].sort());
    expect(l).toBeGreaterThan(0);
    const ratio = h / l;
    expect(ratio).toBeGreaterThanOrEqual(3 * 0.95);
    expect(ratio).toBeLessThanOrEqual(3 * 1.05);
  }

  it('splits the gateway calls to orders 3:1 by registry weight, and follows a change', {
    timeout: 240_000,
  }, async () => {
    const orders = t.running('orders');
    expect(orders).toHaveLength(2);
    const [a, b] = orders as [(typeof orders)[0], (typeof orders)[0]];
    const addressA = String(a.facts.address);
    const addressB = String(b.facts.address);

    await weigh(a.id, b.id, addressA);
    expectThreeToOne(await split(CALLS), addressA, addressB);
    expect(t.cluster.control.instances().find((i) => i.id === a.id)?.facts.weight).toBe(3);

    // Swapped: the other instance now takes three calls in four.
    await weigh(b.id, a.id, addressB);
    expectThreeToOne(await split(CALLS), addressB, addressA);
  });
}
