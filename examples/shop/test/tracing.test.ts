// Tracing: request -> service -> database spans, into an in-memory exporter.
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sharedRedisUrl, uniquePrefix } from '../../../test/harness/index.js';
import {
  adminLogin,
  newProduct,
  PASSWORD,
  startShop,
  type TestShop,
  uniqueEmail,
} from './helpers.js';

const exporter = new InMemorySpanExporter();
let t: TestShop;
let untraced: TestShop;
let onRedis: TestShop;

beforeAll(async () => {
  t = await startShop({}, { spanExporter: exporter });
  untraced = await startShop();
  onRedis = await startShop(
    { REDIS_URL: sharedRedisUrl(), SHOP_REDIS_PREFIX: uniquePrefix('shop-traced') },
    { spanExporter: exporter },
  );
}, 180_000); // three shops (eighteen gRPC servers) on a loaded CI machine
afterAll(async () => {
  await t?.close();
  await untraced?.close();
  await onRedis?.close();
});

const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;
const spansOfTrace = (root: ReadableSpan) =>
  exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === root.spanContext().traceId);
const rootNamed = (name: string) => {
  const roots = exporter.getFinishedSpans().filter((s) => s.name === name);
  expect(roots, name).toHaveLength(1);
  return roots[0]!;
};

describe('tracing', () => {
  it('nests request, service and database spans', async () => {
    const productId = await newProduct(t.client, await adminLogin(t.client), 2);
    exporter.reset();
    expect((await t.client.get(`/api/products/${productId}`)).status).toBe(200);
    await expect.poll(() => exporter.getFinishedSpans().length).toBeGreaterThan(2);

    const request = rootNamed('GET /api/products/:id');
    expect(request.kind).toBe(SpanKind.SERVER);
    expect(parentOf(request)).toBeUndefined();
    expect(request.resource.attributes['service.name']).toBe('girder-shop');
    expect(request.attributes).toMatchObject({
      'http.request.method': 'GET',
      'http.route': '/api/products/:id',
      'http.response.status_code': 200,
    });
    const spans = spansOfTrace(request);
    const get = spans.find((s) => s.name === 'catalog.get')!;
    if (t.shop.rpc) {
      // Over gRPC: request -> client call -> server call -> service, one trace.
      const server = spans.find((s) => s.spanContext().spanId === parentOf(get))!;
      expect(server).toMatchObject({ kind: SpanKind.SERVER, name: 'shop.catalog.v1.Catalog/Get' });
      expect(server.attributes).toMatchObject({ 'rpc.system': 'grpc', 'rpc.grpc.status_code': 0 });
      const call = spans.find((s) => s.spanContext().spanId === parentOf(server))!;
      expect(call).toMatchObject({ kind: SpanKind.CLIENT, name: server.name });
      expect(parentOf(call)).toBe(request.spanContext().spanId);
    } else {
      expect(parentOf(get)).toBe(request.spanContext().spanId);
    }
    const query = spans.find((s) => parentOf(s) === get.spanContext().spanId)!;
    expect(query.name).toBe('SELECT');
    expect(query.kind).toBe(SpanKind.CLIENT);
    expect(query.attributes).toMatchObject({
      'db.system.name': 'postgresql',
      'db.operation.name': 'SELECT',
    });
    expect(spans.find((s) => s.name === 'inventory.stockOf')).toBeDefined();
  });

  it('marks a failed service call and its failed query as errors', async () => {
    const email = uniqueEmail('traced');
    await t.shop.services.users.signup(email, PASSWORD);
    exporter.reset();
    const res = await t.client.post('/api/users/signup', {
      email,
      password: PASSWORD,
      confirmPassword: PASSWORD,
    });
    expect(res.status).toBe(409);
    const request = rootNamed('POST /api/users/signup');
    const spans = spansOfTrace(request);
    const signup = spans.find((s) => s.name === 'users.signup')!;
    expect(signup.status.code).toBe(SpanStatusCode.ERROR);
    const insert = spans.find(
      (s) => s.name === 'INSERT' && parentOf(s) === signup.spanContext().spanId,
    )!;
    expect(insert.status.code).toBe(SpanStatusCode.ERROR);
    expect(insert.ended).toBe(true);
  });

  it('puts the login rate limits’ Redis round trips (girder/observability tracing) in the request', async () => {
    const email = uniqueEmail('traced-redis');
    await onRedis.shop.services.users.signup(email, PASSWORD);
    exporter.reset();
    const res = await onRedis.client.post('/api/users/login', { email, password: PASSWORD });
    expect(res.status).toBe(200);
    const request = rootNamed('POST /api/users/login');
    const redis = spansOfTrace(request).filter(
      (s) => s.attributes['db.system'] === 'redis' || s.attributes['db.system.name'] === 'redis',
    );
    // Two limiters (per IP, per account) each make at least one round trip.
    expect(redis.length).toBeGreaterThanOrEqual(2);
    for (const span of redis) expect(span.kind).toBe(SpanKind.CLIENT);
  });

  it('puts the API rate-limit hook’s Redis round trip in the request too: no orphan traces', async () => {
    exporter.reset();
    expect((await onRedis.client.get('/api/categories')).status).toBe(200);
    const request = rootNamed('GET /api/categories');
    const isRedis = (s: ReadableSpan) =>
      s.attributes['db.system'] === 'redis' || s.attributes['db.system.name'] === 'redis';
    const ofRequest = spansOfTrace(request).filter(isRedis);
    expect(ofRequest.length).toBeGreaterThanOrEqual(1);
    // Before the request span was made active from the first hook, the hook's round trip
    // started a trace of its own. Only the request's runners count: the shop's background
    // round trips (its queue's XAUTOCLAIM, the leader's renewals) are rightly roots.
    const runners = new Set(ofRequest.map((s) => s.attributes['girder.redis.runner']));
    const orphans = exporter
      .getFinishedSpans()
      .filter(
        (s) => isRedis(s) && !parentOf(s) && runners.has(s.attributes['girder.redis.runner']),
      );
    expect(orphans).toEqual([]);
  });

  it('records nothing when tracing is off (the default)', async () => {
    exporter.reset();
    await untraced.client.get('/api/categories');
    // The traced Redis shop's background round trips (its queue's XAUTOCLAIM) may land
    // meanwhile: girder traces every Redis round trip in the process. Nothing else may.
    const isRedis = (s: ReadableSpan) =>
      s.attributes['db.system'] === 'redis' || s.attributes['db.system.name'] === 'redis';
    expect(exporter.getFinishedSpans().filter((s) => !isRedis(s))).toEqual([]);
  });
});
