// The ops page's feed (GET /api/admin/ops): admins only, computed from the registry.
import { manualClock } from 'girder/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  adminLogin,
  newProduct,
  newUser,
  placeOrder,
  recover,
  type SignedIn,
  startShop,
  type TestShop,
} from './helpers.js';

const clock = manualClock(Date.now());
let t: TestShop;
let admin: SignedIn;

beforeAll(async () => {
  t = await startShop({ SHOP_PAYMENT_BREAKER_OPEN: '1s' }, { clock });
  admin = await adminLogin(t.client);
});
afterAll(() => t?.close());

const ops = () => t.client.get('/api/admin/ops', { token: admin.accessToken });

describe('the ops page', () => {
  it('serves uPlot itself (no CDN) and links the page for admins only', async () => {
    const js = await t.client.get('/static/vendor/uPlot.iife.min.js');
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(js.text).toContain('uPlot');
    const css = await t.client.get('/static/vendor/uPlot.min.css');
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');
    const app = await t.client.get('/static/js/app.js');
    expect(app.text).toContain("profile?.role === 'admin' ? link('#/ops', 'Ops')");
  });
});

describe('GET /api/admin/ops', () => {
  it('is for admins only', async () => {
    expect((await t.client.get('/api/admin/ops')).status).toBe(401);
    const user = await newUser(t.client);
    expect((await t.client.get('/api/admin/ops', { token: user.accessToken })).status).toBe(403);
    expect((await ops()).status).toBe(200);
  });

  it('reports routes by template with latency buckets, limiters, breakers and targets', async () => {
    const user = await newUser(t.client);
    const productId = await newProduct(t.client, admin, 3);
    await t.client.get(`/api/products/${productId}`);
    await t.client.get(`/api/products/${productId}`);
    const res = await ops();
    expect(res.headers.get('cache-control')).toBe('no-store');
    const snap = res.body;
    const route = snap.routes.find(
      (r: { method: string; route: string }) =>
        r.method === 'GET' && r.route === '/api/products/:id',
    );
    expect(route.count).toBe(2);
    expect(route.buckets.at(-1)).toEqual([null, 2]);
    expect(snap.routes.some((r: { route: string }) => /\/\d/.test(r.route))).toBe(false);
    const api = snap.limiters.find((l: { name: string }) => l.name === 'shop-api');
    expect(api.allowed).toBeGreaterThan(0);
    expect(api.denied).toBe(0);
    // Over gRPC (SHOP_TEST_TRANSPORT=grpc), the client breaker in front of each service too.
    const rpcBreakers = t.shop.rpc
      ? ['users', 'catalog', 'inventory', 'orders', 'payments', 'notifications'].map((s) => ({
          name: `rpc-${s}`,
          state: 'closed',
          calls: expect.any(Object),
          transitions: [],
        }))
      : [];
    expect(snap.breakers).toEqual([
      { name: 'payment-provider', state: 'closed', calls: expect.any(Object), transitions: [] },
      ...rpcBreakers,
    ]);
    expect(snap.targets).toEqual([
      {
        name: 'payment-provider',
        breaker: 'payment-provider',
        state: 'closed',
        retries: 0,
        giveUps: 0,
        budgetExhausted: 0,
      },
    ]);
    void user;
  });

  it('lists the jobs this process runs: both sweeps and the ranking', async () => {
    const { jobs, leaders } = (await ops()).body;
    expect(jobs.map((j: { name: string }) => j.name)).toEqual([
      'expire-orders',
      'retry-refunds',
      'popular-products',
    ]);
    expect(leaders.map((l: { name: string }) => l.name)).toEqual(['shop-jobs']);
  });

  it('has a cluster panel only when the services run over gRPC', async () => {
    const res = await t.client.get('/api/admin/cluster', { token: admin.accessToken });
    expect(res.status).toBe(t.shop.rpc ? 200 : 404);
  });

  it('shows the payment breaker opening and closing, with its transitions', async () => {
    const user = await newUser(t.client);
    const productId = await newProduct(t.client, admin, 100);
    const orderNo = (await placeOrder(t.client, user, [{ productId, quantity: 1 }])).body.orderNo;
    const pay = () =>
      t.client.post(`/api/orders/${orderNo}/pay`, undefined, { token: user.accessToken });
    t.shop.mockProvider.setDown(true);
    for (let i = 0; i < 6 && t.shop.paymentBreaker.state === 'closed'; i++) await pay();
    let snap = (await ops()).body;
    expect(snap.breakers[0].state).toBe('open');
    expect(snap.breakers[0].calls.failure).toBeGreaterThanOrEqual(5);
    expect(snap.breakers[0].transitions.map((x: { to: string }) => x.to)).toEqual(['open']);
    expect(snap.targets[0].state).toBe('open');
    expect(snap.targets[0].giveUps).toBeGreaterThan(0);

    t.shop.mockProvider.setDown(false);
    clock.advance(1_000);
    expect((await pay()).status).toBe(200);
    // Half-open recovery: probes, then a ramp of growing traffic fractions, a step a second.
    await recover(t, user, productId, clock);
    snap = (await ops()).body;
    expect(snap.breakers[0].state).toBe('closed');
    const tos = snap.breakers[0].transitions.map((x: { to: string }) => x.to);
    expect(tos[0]).toBe('open');
    expect(tos[1]).toBe('half-open');
    expect(tos.at(-1)).toBe('closed');
  });
});
