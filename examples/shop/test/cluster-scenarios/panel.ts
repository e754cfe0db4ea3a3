// Cluster scenario, the cluster panel's API on `--cluster` for real (one process per
// instance, etcd): the supervisor's children with their etcd leases and weights, a weight
// set from the API reaching the gateway's balancer, and a crashed orders instance leaving
// the survivor with every call and no failed order. Destructive (orders#2 stays dead):
// runs after every scenario that needs both orders instances.
import { expect, it } from 'vitest';
import type { TestCluster } from '../cluster-helpers.js';
import { adminLogin, newProduct, newUser, placeOrder } from '../helpers.js';

// biome-ignore lint/suspicious/noExplicitAny: JSON bodies are read loosely.
type Json = any;

export function panelScenario(cluster: () => TestCluster) {
  it('lists the children, sets a weight, and kills one', async () => {
    const { client } = cluster();
    const admin = await adminLogin(client);
    const as = { token: admin.accessToken };
    const snapshot = async (): Promise<Json> => (await client.get('/api/admin/cluster', as)).body;
    const node = (snap: Json, id: string): Json =>
      snap.services.find((s: Json) => s.name === 'orders').instances.find((i: Json) => i.id === id);

    const first = await snapshot();
    expect(first.mode).toBe('processes');
    for (const id of ['orders#1', 'orders#2']) {
      const n = node(first, id);
      expect(n).toMatchObject({ state: 'running', lease: 'registered', weight: 1 });
      expect(n.pid).not.toBe(process.pid);
    }

    const weight = await client.post(
      '/api/admin/cluster/instances/orders%231/weight',
      { weight: 3 },
      as,
    );
    expect(weight.body).toEqual({ id: 'orders#1', weight: 3 });
    // The gateway learns the weight through its etcd watch.
    for (let i = 0; i < 100 && node(await snapshot(), 'orders#1').weight !== 3; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(node(await snapshot(), 'orders#1').weight).toBe(3);

    const user = await newUser(client);
    const productId = await newProduct(client, admin, 1_000, { category: 'games' });
    const order = async () => {
      const res = await placeOrder(client, user, [{ productId, quantity: 1 }]);
      expect([200, 201], res.text).toContain(res.status);
    };
    const before = await snapshot();
    for (let i = 0; i < 20; i++) await order();
    const after = await snapshot();
    const picks = (id: string) => node(after, id).picks - node(before, id).picks;
    expect(picks('orders#1')).toBeGreaterThan(picks('orders#2'));

    const kill = await client.post(
      '/api/admin/cluster/instances/orders%232/kill',
      { signal: 'SIGKILL' },
      as,
    );
    expect(kill.body).toMatchObject({ id: 'orders#2', state: 'exited', signal: 'SIGKILL' });
    const killed = await snapshot();
    expect(node(killed, 'orders#2')).toMatchObject({ state: 'exited', exit: 'SIGKILL' });
    for (let i = 0; i < 10; i++) await order();
    const last = await snapshot();
    expect(node(last, 'orders#1').picks - node(killed, 'orders#1').picks).toBeGreaterThanOrEqual(
      10,
    );
  }, 120_000);
}
