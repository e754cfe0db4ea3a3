// Cluster scenario, tracing on (SHOP_TRACING=otlp): every process exports its spans over
// OTLP/HTTP (JSON) to the collector (collector.ts), and one product page is one trace
// across the processes: the gateway's request span, the catalog instance's server span
// (continuing the gateway's W3C context from the gRPC metadata), its service span and
// its database spans. service.name tells the processes apart. Runs first on the shared
// cluster, so the first product-page request span the collector sees is this one's.
import { afterAll, expect, it } from 'vitest';
import type { TestCluster } from '../cluster-helpers.js';
import { adminLogin, newProduct } from '../helpers.js';
import type { Collected, Collector } from './collector.js';

export function tracingScenario(cluster: () => TestCluster, collector: () => Collector) {
  afterAll(() => {
    // Later scenarios' spans are not needed: stop keeping them.
    collector().keep = false;
  });

  it('one product page is one trace across the gateway and the catalog process', async () => {
    const t = cluster();
    const { spans } = collector();
    const productId = await newProduct(t.client, await adminLogin(t.client), 3, {
      category: 'games',
    });
    expect((await t.client.get(`/api/products/${productId}`)).status).toBe(200);

    const requestSpan = () => spans.find((s) => s.name === 'GET /api/products/:id');
    await expect.poll(requestSpan, { timeout: 20_000 }).toBeDefined();
    const request = requestSpan()!;
    expect(request.service).toBe('shop-gateway');
    expect(request.parentSpanId).toBe('');
    const ofTrace = () => spans.filter((s) => s.traceId === request.traceId);

    // In the catalog process: server call -> catalog.get -> SELECT, all in the gateway's trace.
    await expect
      .poll(
        () =>
          ofTrace().some((s) => s.service === 'shop-catalog' && s.name === 'SELECT') &&
          ofTrace().some((s) => s.service === 'shop-inventory' && s.name === 'SELECT'),
        { timeout: 20_000 },
      )
      .toBe(true);
    const trace = ofTrace();
    const byId = new Map(trace.map((s) => [s.spanId, s]));
    const get = trace.find((s) => s.service === 'shop-catalog' && s.name === 'catalog.get')!;
    expect(get).toBeDefined();
    const server = byId.get(get.parentSpanId)!;
    expect(server).toMatchObject({ service: 'shop-catalog', name: 'shop.catalog.v1.Catalog/Get' });
    const call = byId.get(server.parentSpanId)!;
    expect(call).toMatchObject({ service: 'shop-gateway', name: server.name });
    const query = trace.find(
      (s) => s.service === 'shop-catalog' && s.name === 'SELECT' && s.parentSpanId === get.spanId,
    );
    expect(query).toBeDefined();
    // The call's parent chain reaches the gateway's request span.
    let up: Collected | undefined = call;
    while (up && up.parentSpanId !== '') up = byId.get(up.parentSpanId);
    expect(up).toBe(request);
  }, 60_000);
}
