// The ops page's cluster panel API (/api/admin/cluster) over the one-process gRPC shop:
// two orders nodes, weights 3:1 in the registry, the balancer's split following them,
// then a crash of one node: traffic moves to the survivor and no request fails.
import { beforeAll, describe, expect, it } from 'vitest';
import {
  newProduct,
  newUser,
  placeOrder,
  type SignedIn,
  startShop,
  useAdminShop,
} from './helpers.js';

// biome-ignore lint/suspicious/noExplicitAny: JSON bodies are read loosely.
type Json = any;

const t = useAdminShop(() => startShop({}, { transport: 'grpc' }));
let buyer: SignedIn;
let productId: number;

beforeAll(async () => {
  buyer = await newUser(t.client);
  productId = await newProduct(t.client, t.admin, 10_000);
});

const as = () => ({ token: t.admin.accessToken });
const snapshot = async (): Promise<Json> => {
  const res = await t.client.get('/api/admin/cluster', as());
  expect(res.status).toBe(200);
  return res.body;
};
const service = (snap: Json, name: string): Json =>
  snap.services.find((s: Json) => s.name === name);
const byId = (snap: Json, id: string): Json =>
  snap.services.flatMap((s: Json) => s.instances).find((i: Json) => i.id === id);
/** Place an order; 201, or 200 when a retry found the order its cut-off attempt had placed. */
const order = async (): Promise<number> => {
  const res = await placeOrder(t.client, buyer, [{ productId, quantity: 1 }]);
  expect([200, 201], res.text).toContain(res.status);
  return res.status;
};

describe('GET /api/admin/cluster', () => {
  it('is for admins only', async () => {
    expect((await t.client.get('/api/admin/cluster')).status).toBe(401);
    const user = await newUser(t.client);
    expect((await t.client.get('/api/admin/cluster', { token: user.accessToken })).status).toBe(
      403,
    );
    const kill = await t.client.post('/api/admin/cluster/instances/orders%231/kill', undefined, {
      token: user.accessToken,
    });
    expect(kill.status).toBe(403);
  });

  it('lists every service node, registered, with its weight, pid and breaker', async () => {
    const snap = await snapshot();
    expect(snap.mode).toBe('in-process');
    expect(snap.services.map((s: Json) => s.name)).toEqual([
      'users',
      'catalog',
      'inventory',
      'orders',
      'payments',
      'notifications',
    ]);
    for (const s of snap.services) {
      expect(s.stale).toBe(false);
      expect(s.breaker).toEqual({ name: `rpc-${s.name}`, state: 'closed' });
      expect(s.instances).toEqual([
        expect.objectContaining({
          id: `${s.name}#1`,
          state: 'running',
          lease: 'registered',
          weight: 1,
          pid: process.pid,
          address: expect.stringMatching(/^127\.0\.0\.1:\d+$/),
          registryId: expect.any(String),
        }),
      ]);
    }
  });

  it('refuses bad actions with 4xx', async () => {
    const post = (path: string, body?: unknown) =>
      t.client.post(`/api/admin/cluster${path}`, body, as());
    expect((await post('/instances/nope%231/kill')).status).toBe(404);
    expect((await post('/instances/orders%231/kill', { signal: 'SIGHUP' })).status).toBe(400);
    expect((await post('/instances/orders%231/weight', { weight: 0 })).status).toBe(400);
    expect((await post('/instances/orders%231/weight', { weight: 1.5 })).status).toBe(400);
    expect((await post('/services/nope/scale-up')).status).toBe(404);
  });
});

describe('scaling orders and weighting it 3:1', () => {
  it('starts a second orders node, and the balancer splits the calls by the weights', async () => {
    const up = await t.client.post('/api/admin/cluster/services/orders/scale-up', undefined, as());
    expect(up.status).toBe(200);
    expect(up.body).toMatchObject({ id: 'orders#2', role: 'orders', state: 'running' });
    for (const [id, weight] of [
      ['orders#1', 3],
      ['orders#2', 1],
    ] as const) {
      const res = await t.client.post(
        `/api/admin/cluster/instances/${encodeURIComponent(id)}/weight`,
        { weight },
        as(),
      );
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ id, weight });
    }
    // A few calls so the balancer has both nodes connected with their new weights.
    for (let i = 0; i < 8; i++) await order();
    let snap = await snapshot();
    expect(service(snap, 'orders').instances.map((i: Json) => [i.id, i.weight, i.lease])).toEqual([
      ['orders#1', 3, 'registered'],
      ['orders#2', 1, 'registered'],
    ]);
    const before = [byId(snap, 'orders#1').picks, byId(snap, 'orders#2').picks];
    const n = 60;
    for (let i = 0; i < n; i++) await order();
    snap = await snapshot();
    const one = byId(snap, 'orders#1').picks - before[0];
    const two = byId(snap, 'orders#2').picks - before[1];
    expect(one + two).toBeGreaterThanOrEqual(n);
    // Within 5% of 3:1 (smooth weighted round robin interleaves exactly, a pick or two aside).
    expect(Math.abs(one / (one + two) - 0.75)).toBeLessThan(0.05);
    // The window's share says the same (every pick since start is within the window here).
    expect(byId(snap, 'orders#1').share).toBeGreaterThan(byId(snap, 'orders#2').share);
  });

  it('moves the traffic to the survivor when a node crashes; no request fails', async () => {
    const snap0 = await snapshot();
    const survivorBefore = byId(snap0, 'orders#1').picks;
    const killedBefore = byId(snap0, 'orders#2').picks;
    // Crash orders#2 with orders in flight.
    const inFlight = Array.from({ length: 8 }, () => order());
    const kill = await t.client.post(
      '/api/admin/cluster/instances/orders%232/kill',
      { signal: 'SIGKILL' },
      as(),
    );
    expect(kill.status).toBe(200);
    expect(kill.body).toMatchObject({ id: 'orders#2', state: 'exited', signal: 'SIGKILL' });
    // A crash leaves its registration until the lease runs out (5 s), like an etcd lease.
    expect(byId(await snapshot(), 'orders#2')).toMatchObject({
      state: 'exited',
      exit: 'SIGKILL',
      lease: 'registered',
    });
    const statuses = await Promise.all(inFlight);
    for (let i = 0; i < 20; i++) expect(await order()).toBe(201);
    const snap = await snapshot();
    const killed = byId(snap, 'orders#2');
    expect(killed).toMatchObject({ state: 'exited', exit: 'SIGKILL' });
    const survivor = byId(snap, 'orders#1');
    expect(survivor.picks - survivorBefore).toBeGreaterThanOrEqual(20);
    // At most the calls already on their way reached the dead node.
    expect(killed.picks - killedBefore).toBeLessThanOrEqual(8);
    expect(service(snap, 'orders').breaker.state).toBe('closed');
    // The breaker saw every attempt: a failure for each call the crash cut off (a replayed
    // order, 200, is one whose first attempt was cut off after it had placed the order).
    const ops = (await t.client.get('/api/admin/ops', as())).body;
    const breaker = ops.breakers.find((b: Json) => b.name === 'rpc-orders');
    expect(breaker.state).toBe('closed');
    expect(breaker.calls.success).toBeGreaterThan(0);
    const replays = statuses.filter((s) => s === 200).length;
    expect(breaker.calls.failure ?? 0).toBeGreaterThanOrEqual(replays);
    // A stopped node cannot be killed again, nor weighted.
    const again = await t.client.post('/api/admin/cluster/instances/orders%232/kill', {}, as());
    expect(again.status).toBe(409);
  });

  it('stops a node gracefully: deregistered at once, the rest keep serving', async () => {
    const up = await t.client.post('/api/admin/cluster/services/orders/scale-up', undefined, as());
    expect(up.body.id).toBe('orders#3');
    const stop = await t.client.post(
      '/api/admin/cluster/instances/orders%233/kill',
      { signal: 'SIGTERM' },
      as(),
    );
    expect(stop.status).toBe(200);
    expect(stop.body).toMatchObject({ id: 'orders#3', state: 'exited', exitCode: 0 });
    for (let i = 0; i < 5; i++) await order();
    const snap = await snapshot();
    expect(byId(snap, 'orders#3')).toMatchObject({ state: 'exited', lease: 'gone' });
    expect(byId(snap, 'orders#1')).toMatchObject({ state: 'running', lease: 'registered' });
  });
});
