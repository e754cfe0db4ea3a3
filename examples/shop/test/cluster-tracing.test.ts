// Cluster mode, tracing on (SHOP_TRACING=otlp): every process exports its spans over
// OTLP/HTTP (JSON) to a small collector in this test, and one product page is one trace
// across the processes: the gateway's request span, the catalog instance's server span
// (continuing the gateway's W3C context from the gRPC metadata), its service span and
// its database spans. service.name tells the processes apart.
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { clusterShop, type TestCluster } from './cluster-helpers.js';
import { adminLogin, newProduct } from './helpers.js';

/** A span as the collector received it, with the service.name of the process that sent it. */
interface Collected {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
}

interface OtlpValue {
  stringValue?: string;
}
interface OtlpRequest {
  resourceSpans?: Array<{
    resource?: { attributes?: Array<{ key: string; value: OtlpValue }> };
    scopeSpans?: Array<{
      spans?: Array<{ traceId: string; spanId: string; parentSpanId?: string; name: string }>;
    }>;
  }>;
}

const spans: Collected[] = [];
let collector: Server;
let t: TestCluster;
const scheduleDelay = process.env.OTEL_BSP_SCHEDULE_DELAY;

beforeAll(async () => {
  collector = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.url === '/v1/traces') {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as OtlpRequest;
        for (const rs of body.resourceSpans ?? []) {
          const service =
            rs.resource?.attributes?.find((a) => a.key === 'service.name')?.value.stringValue ?? '';
          for (const ss of rs.scopeSpans ?? [])
            for (const s of ss.spans ?? [])
              spans.push({
                service,
                traceId: s.traceId,
                spanId: s.spanId,
                parentSpanId: s.parentSpanId ?? '',
                name: s.name,
              });
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  collector.listen(0, '127.0.0.1');
  await once(collector, 'listening');
  const endpoint = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;
  // Export every 200 ms rather than every 5 s (the gateway is this process).
  process.env.OTEL_BSP_SCHEDULE_DELAY = '200';
  t = await clusterShop(
    {
      SHOP_TRACING: 'otlp',
      OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
      OTEL_BSP_SCHEDULE_DELAY: '200',
    },
    [
      { role: 'users', count: 1 },
      { role: 'catalog', count: 1 },
      { role: 'inventory', count: 1 },
    ],
  );
}, 120_000);

afterAll(async () => {
  await t?.close();
  collector?.close();
  if (scheduleDelay === undefined) delete process.env.OTEL_BSP_SCHEDULE_DELAY;
  else process.env.OTEL_BSP_SCHEDULE_DELAY = scheduleDelay;
}, 60_000);

it('one product page is one trace across the gateway and the catalog process', async () => {
  const productId = await newProduct(t.client, await adminLogin(t.client), 3);
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
