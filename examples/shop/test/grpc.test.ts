// The shop with SHOP_TRANSPORT=grpc: every service behind its own gRPC server in this
// process, found through the memory registry (`etcd:///<service>`, girder_swrr), the
// gateway calling them through clients with the services' interfaces. The order,
// payment and cancel flows, the HTTP error mapping across the wire, the user token
// carried to the services, and proof that the calls really go over gRPC.
import { Metadata, status } from '@grpc/grpc-js';
import type { ServerCallEvent } from 'girder/grpc';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';
import { ShopError } from '../src/errors.js';
import { errorOfStatus, statusOfError } from '../src/rpc/errors.js';
import {
  metricOf,
  newProduct,
  newUser,
  placeOrder,
  type SignedIn,
  startShop,
  stockOf,
  useAdminShop,
} from './helpers.js';

const t = useAdminShop(() => startShop({ SHOP_OUTBOX_POLL: '20ms' }, { transport: 'grpc' }));
const served: ServerCallEvent[] = [];

beforeAll(() => {
  t.shop.rpc!.served.events.on('call', (e) => served.push(e));
});

const pay = (user: SignedIn, orderNo: string) =>
  t.client.post(`/api/orders/${orderNo}/pay`, undefined, { token: user.accessToken });
const getOrder = (user: SignedIn, orderNo: string) =>
  t.client.get(`/api/orders/${orderNo}`, { token: user.accessToken }).then((r) => r.body);
const servedSince = (from: number) => served.slice(from).map((e) => e.method);

describe('SHOP_TRANSPORT=grpc', () => {
  it('starts one node per service, registered with its weight on a loopback port', async () => {
    const rpc = t.shop.rpc!;
    expect(rpc.nodes.map((n) => n.service).sort()).toEqual(
      ['catalog', 'inventory', 'notifications', 'orders', 'payments', 'users'].sort(),
    );
    for (const node of rpc.nodes) {
      expect(node.address).toMatch(/^127\.0\.0\.1:\d+$/);
      const [instance] = rpc.registry.discover(node.service).instances();
      expect(instance).toMatchObject({ address: node.address, weight: 1 });
    }
  });

  it('places, pays and cancels orders through the services over gRPC', async () => {
    const productId = await newProduct(t.client, t.admin, 5, { priceCents: 1_500 });
    const user = await newUser(t.client);
    const from = served.length;

    const placed = await placeOrder(t.client, user, [{ productId, quantity: 2 }]);
    expect(placed.status).toBe(201);
    expect(placed.body.status).toBe('pending_payment');
    expect(await stockOf(t.client, productId)).toBe(3);
    // The gateway's call went to orders, and orders reserved stock through inventory.
    expect(servedSince(from)).toEqual(
      expect.arrayContaining([
        '/shop.orders.v1.Orders/Place',
        '/shop.catalog.v1.Catalog/GetMany',
        '/shop.inventory.v1.Inventory/Reserve',
      ]),
    );

    const started = await pay(user, placed.body.orderNo);
    expect(started.status).toBe(200);
    expect(await t.shop.mockProvider.pay(started.body.paymentUrl.split('/').pop())).toBe(200);
    const paid = await getOrder(user, placed.body.orderNo);
    expect(paid.status).toBe('paid');
    expect(paid.payments).toEqual([expect.objectContaining({ status: 'succeeded' })]);
    expect(servedSince(from)).toEqual(
      expect.arrayContaining([
        '/shop.payments.v1.Payments/Start',
        '/shop.payments.v1.Payments/HandleCallback',
        '/shop.orders.v1.Orders/MarkPaid',
        '/shop.inventory.v1.Inventory/Commit',
      ]),
    );

    const other = await placeOrder(t.client, user, [{ productId, quantity: 3 }]);
    expect(other.status).toBe(201);
    expect(await stockOf(t.client, productId)).toBe(0);
    const cancelled = await t.client.post(`/api/orders/${other.body.orderNo}/cancel`, undefined, {
      token: user.accessToken,
    });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.status).toBe('cancelled');
    expect(await stockOf(t.client, productId)).toBe(3);
    // A second cancel returns the order unchanged and the stock stays put.
    await t.client.post(`/api/orders/${other.body.orderNo}/cancel`, undefined, {
      token: user.accessToken,
    });
    expect(await stockOf(t.client, productId)).toBe(3);
  });

  it('keeps the HTTP error mapping across the wire (same status, code and details)', async () => {
    const productId = await newProduct(t.client, t.admin, 1, { name: 'Last one' });
    const user = await newUser(t.client);
    const short = await placeOrder(t.client, user, [{ productId, quantity: 2 }]);
    expect(short.status).toBe(409);
    expect(short.body).toMatchObject({
      code: 'OUT_OF_STOCK',
      details: { productId, requested: 2, available: 1, name: 'Last one' },
    });
    const unknown = await placeOrder(t.client, user, [{ productId: 999_999, quantity: 1 }]);
    expect(unknown.status).toBe(404);
    expect(unknown.body.code).toBe('PRODUCT_NOT_FOUND');
    const reused = await placeOrder(t.client, user, [{ productId, quantity: 1 }], 'twice');
    expect(reused.status).toBe(201);
    const again = await placeOrder(t.client, user, [{ productId: 999_998, quantity: 1 }], 'twice');
    expect([404, 409]).toContain(again.status);
    const paidTwice = await pay(user, reused.body.orderNo);
    expect(paidTwice.status).toBe(200);
    await t.shop.mockProvider.pay(paidTwice.body.paymentUrl.split('/').pop());
    const third = await pay(user, reused.body.orderNo);
    expect(third.status).toBe(409);
    expect(third.body.code).toBe('ORDER_ALREADY_PAID');
    const someoneElse = await newUser(t.client);
    expect((await getOrderStatus(someoneElse, reused.body.orderNo)).status).toBe(404);
    const taken = await t.client.post('/api/users/signup', {
      email: user.email,
      password: 'correct-horse-1!',
      confirmPassword: 'correct-horse-1!',
    });
    expect(taken.status).toBe(409);
    expect(taken.body.code).toBe('EMAIL_TAKEN');
  });

  it('reads SHOP_TRANSPORT and the SHOP_RPC_* settings, grpc by default', () => {
    expect(loadConfig({}).rpc).toEqual({
      transport: 'grpc',
      timeoutMs: 5_000,
      rateLimit: { limit: 1_000, windowMs: 1_000 },
      weight: 1,
    });
    expect(
      loadConfig({ SHOP_TRANSPORT: 'direct', SHOP_RPC_TIMEOUT: '2s', SHOP_RPC_WEIGHT: '3' }).rpc,
    ).toMatchObject({ transport: 'direct', timeoutMs: 2_000, weight: 3 });
    expect(() => loadConfig({ SHOP_TRANSPORT: 'http' })).toThrow(ConfigError);
    expect(() => loadConfig({ SHOP_RPC_WEIGHT: '0' })).toThrow(/SHOP_RPC_WEIGHT/);
  });

  it('maps ShopErrors to statuses with a stable detail trailer, and back', () => {
    const cases: Array<[ShopError, status]> = [
      [new ShopError(400, 'AMOUNT_MISMATCH', 'x'), status.INVALID_ARGUMENT],
      [new ShopError(404, 'ORDER_NOT_FOUND', 'x', { orderNo: 'a' }), status.NOT_FOUND],
      [new ShopError(409, 'EMAIL_TAKEN', 'x'), status.ALREADY_EXISTS],
      [new ShopError(409, 'OUT_OF_STOCK', 'x', { productId: 1 }), status.FAILED_PRECONDITION],
      [new ShopError(503, 'PAYMENT_PROVIDER_UNAVAILABLE', 'x'), status.ABORTED],
    ];
    for (const [error, code] of cases) {
      const sent = statusOfError(error);
      expect(sent.code).toBe(code);
      const back = errorOfStatus(
        Object.assign(new Error(sent.details), { code: sent.code, metadata: sent.metadata }),
      );
      expect(back).toBeInstanceOf(ShopError);
      expect(back).toMatchObject({
        status: error.status,
        code: error.code,
        message: error.message,
        details: error.details,
      });
    }
    // A bug is INTERNAL and says nothing about itself.
    expect(statusOfError(new TypeError('secret'))).toMatchObject({
      code: status.INTERNAL,
      details: 'internal error',
    });
    // Transport failures become what the HTTP layer already maps: 503 and 429.
    const unavailable = errorOfStatus(
      Object.assign(new Error('down'), { code: status.UNAVAILABLE, metadata: new Metadata() }),
    );
    expect(unavailable).toMatchObject({ status: 503, code: 'SERVICE_UNAVAILABLE' });
    // A limiter's refusal carries its retry delay; grpc-js' own RESOURCE_EXHAUSTED (an
    // oversized message, an HTTP/2 reset) does not, and is no quota.
    const retryIn = new Metadata();
    retryIn.set('retry-after-ms', '250');
    const limited = errorOfStatus(
      Object.assign(new Error('busy'), { code: status.RESOURCE_EXHAUSTED, metadata: retryIn }),
    );
    expect(limited).toMatchObject({ code: 'RATE_LIMITED', retryAfterMs: 250 });
    const tooBig = errorOfStatus(
      Object.assign(new Error('big'), {
        code: status.RESOURCE_EXHAUSTED,
        details: 'Received message larger than max (5000000 vs 4194304)',
        metadata: new Metadata(),
      }),
    );
    expect(tooBig).toMatchObject({
      status: 503,
      details: { grpcCode: 'RESOURCE_EXHAUSTED', grpcDetails: expect.stringContaining('larger') },
    });
  });

  it('refuses a call that carries a user without that user’s token', async () => {
    const user = await newUser(t.client);
    // Straight to the orders service, outside any HTTP request: no token to forward.
    await expect(t.shop.services.orders.list(user.userId)).rejects.toMatchObject({
      status: 401,
    });
    // Internal calls need none.
    expect(await t.shop.services.orders.get('20250101-NOPE2345')).toBeNull();
  });

  it('exports the client breaker of each service in the metrics', async () => {
    const text = await t.shop.registry.metrics();
    for (const name of ['users', 'catalog', 'inventory', 'orders', 'payments', 'notifications']) {
      expect(text).toContain(`name="rpc-${name}"`);
    }
  });

  it('counts the calls on both sides in the shop metrics', async () => {
    const client = await metricOf(t.shop, 'shop_rpc_calls_total', {
      side: 'client',
      method: '/shop.orders.v1.Orders/Place',
      code: 'OK',
    });
    const server = await metricOf(t.shop, 'shop_rpc_calls_total', {
      side: 'server',
      method: '/shop.orders.v1.Orders/Place',
      code: 'OK',
    });
    expect(client).toBeGreaterThan(0);
    expect(server).toBe(client);
  });
});

const getOrderStatus = (user: SignedIn, orderNo: string) =>
  t.client.get(`/api/orders/${orderNo}`, { token: user.accessToken });
