import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { httpMetrics, httpMetricsMiddleware, metrics } from '../../src/observability/index.js';
import { nonZero, series } from './helpers.js';

describe('httpMetrics (Fastify)', () => {
  it('records duration by method, route template and status; never the raw URL', async () => {
    const registry = new Registry();
    const app = Fastify();
    await app.register(httpMetrics, {
      metrics: metrics({ registry, constLabels: { service: 's' } }),
    });
    app.get('/products/:id', async () => ({ ok: true }));
    app.post('/fail', async (_req, reply) => reply.code(503).send({ error: 'x' }));
    await app.inject({ method: 'GET', url: '/products/1' });
    await app.inject({ method: 'GET', url: '/products/2?x=1' });
    await app.inject({ method: 'POST', url: '/fail' });
    await app.inject({ method: 'GET', url: '/nope/123' });
    expect(await nonZero(registry, 'http_server_request_duration_seconds')).toEqual({
      'http_request_method=GET,http_response_status_code=200,http_route=/products/:id,service=s': 2,
      'http_request_method=POST,http_response_status_code=503,http_route=/fail,service=s': 1,
      'http_request_method=GET,http_response_status_code=404,http_route=unmatched,service=s': 1,
    });
    expect(await series(registry, 'http_server_active_requests')).toEqual({
      'http_request_method=GET,service=s': 0,
      'http_request_method=POST,service=s': 0,
    });
    await app.close();
  });

  it('counts a request in flight while its handler runs', async () => {
    const registry = new Registry();
    const app = Fastify();
    await app.register(httpMetrics, { metrics: metrics({ registry }) });
    let inFlight: Record<string, number> = {};
    app.get('/slow', async () => {
      inFlight = await series(registry, 'http_server_active_requests');
      return 'ok';
    });
    await app.inject({ method: 'GET', url: '/slow' });
    expect(inFlight).toEqual({ 'http_request_method=GET': 1 });
    await app.close();
  });

  it('refuses a misspelt option and a non-metrics object', async () => {
    const registry = new Registry();
    const app = Fastify();
    await expect(
      app.register(httpMetrics, { metrics: metrics({ registry }), bukets: [1] } as never),
    ).rejects.toThrow(/bukets/);
    const app2 = Fastify();
    await expect(app2.register(httpMetrics, { metrics: {} as never })).rejects.toThrow(/metrics/);
  });
});

describe('httpMetricsMiddleware (Node)', () => {
  it('records the route the route function names, and the status code', async () => {
    const registry = new Registry();
    const mw = httpMetricsMiddleware({
      metrics: metrics({ registry }),
      route: (req) => (req.url?.startsWith('/users/') ? '/users/:id' : 'unmatched'),
    });
    const server = createServer((req, res) =>
      mw(req, res, () => {
        res.statusCode = req.url === '/missing' ? 404 : 200;
        res.end('x');
      }),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await fetch(`http://127.0.0.1:${port}/users/7`);
    await fetch(`http://127.0.0.1:${port}/missing`);
    await new Promise<void>((resolve) => server.close(() => resolve()));
    expect(await nonZero(registry, 'http_server_request_duration_seconds')).toEqual({
      'http_request_method=GET,http_response_status_code=200,http_route=/users/:id': 1,
      'http_request_method=GET,http_response_status_code=404,http_route=unmatched': 1,
    });
    expect(await series(registry, 'http_server_active_requests')).toEqual({
      'http_request_method=GET': 0,
    });
  });

  it('refuses a misspelt option', () => {
    expect(() =>
      httpMetricsMiddleware({
        metrics: metrics({ registry: new Registry() }),
        rout: () => '',
      } as never),
    ).toThrow(/rout/);
  });
});
