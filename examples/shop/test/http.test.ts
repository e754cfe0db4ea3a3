// Operations and hostile input: health, metrics, access logs, the per-IP API limit, the
// web UI files, and bad requests that must be 4xx JSON, never 500.
import { request as httpRequest } from 'node:http';
import { memoryLogger } from 'girder/logger';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  adminLogin,
  newProduct,
  newUser,
  placeOrder,
  type SignedIn,
  sampleOf,
  startShop,
  type TestShop,
} from './helpers.js';

let t: TestShop;
let admin: SignedIn;
const logger = memoryLogger();

beforeAll(async () => {
  t = await startShop({}, { logger });
  admin = await adminLogin(t.client);
});
afterAll(() => t?.close());

/** A raw request, so the path reaches the server exactly as written. */
function raw(method: string, path: string, headers: Record<string, string> = {}, body?: string) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = httpRequest(`${t.base}${path}`, { method, headers }, (res) => {
      let data = '';
      res.on('data', (c) => (data += c));
      res.on('end', () => resolve({ status: res.statusCode!, body: data }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('GET /healthz', () => {
  it('reports the database and backends', async () => {
    const res = await t.client.get('/healthz');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok', database: 'PGlite (in memory)', backends: 'memory' });
  });
});

describe('GET /metrics', () => {
  it('serves Prometheus text exposition with girder and shop metrics', async () => {
    const user = await newUser(t.client);
    const p = await newProduct(t.client, admin, 1);
    await placeOrder(t.client, user, [{ productId: p, quantity: 1 }]);
    await placeOrder(t.client, user, [{ productId: p, quantity: 1 }]); // out of stock

    const res = await t.client.get('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const lines = res.text.trimEnd().split('\n');
    const typed = new Map<string, string>();
    for (const line of lines) {
      const type = /^# TYPE (\S+) (counter|gauge|histogram|summary)$/.exec(line);
      if (type) {
        typed.set(type[1]!, type[2]!);
        continue;
      }
      if (line.startsWith('# HELP ') || line === '') continue;
      const sample =
        /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*",?)*\})? (-?[0-9.]+(?:e[+-]?[0-9]+)?|[+-]Inf|NaN)$/.exec(
          line,
        );
      expect(sample, line).not.toBeNull();
      const family = sample![1]!.replace(/_(bucket|sum|count)$/, '');
      expect(
        typed.has(sample![1]!) || ['histogram', 'summary'].includes(typed.get(family) ?? ''),
        line,
      ).toBe(true);
    }
    expect(res.text).toContain('shop_orders_total{event="placed"} 1');
    expect(res.text).toContain('shop_orders_total{event="out_of_stock"} 1');
    const value = (name: string, labels: Record<string, string>) =>
      sampleOf(res.text, name, labels);
    // Request metrics (girder/observability httpMetrics): route templates, never raw URLs.
    expect(
      value('http_server_request_duration_seconds_count', {
        http_request_method: 'POST',
        http_route: '/api/orders',
        http_response_status_code: '201',
      }),
    ).toBe(1);
    await t.client.get(`/api/products/${p}`);
    const after = (await t.client.get('/metrics')).text;
    expect(
      sampleOf(after, 'http_server_request_duration_seconds_count', {
        http_route: '/api/products/:id',
      }),
    ).toBeGreaterThan(0);
    expect(after).not.toMatch(/http_route="\/api\/products\/\d/);
    // Every girder block the shop builds is watched.
    expect(
      value('girder_ratelimit_decisions_total', { name: 'shop-api', outcome: 'allowed' }),
    ).toBeGreaterThan(0);
    expect(value('girder_jwt_events_total', { kind: 'issued' })).toBeGreaterThan(0);
    expect(value('girder_breaker_state', { name: 'payment-provider', state: 'closed' })).toBe(1);
    expect(value('girder_authz_decisions_total', { outcome: 'allowed' })).toBeGreaterThan(0);
    // Node process metrics (prom-client collectDefaultMetrics).
    expect(value('process_cpu_user_seconds_total', {})).toBeGreaterThan(0);
  });

  it('never double-counts across scrapes', async () => {
    const first = (await t.client.get('/metrics')).text;
    const second = (await t.client.get('/metrics')).text;
    for (const [name, labels] of [
      ['shop_orders_total', { event: 'placed' }],
      ['girder_jwt_events_total', { kind: 'issued' }],
    ] as const)
      expect(sampleOf(second, name, labels)).toBe(sampleOf(first, name, labels));
  });
});

describe('access logs', () => {
  it('writes one structured entry per request, without tokens', async () => {
    const user = await newUser(t.client);
    logger.clear();
    await t.client.get('/api/users/profile', { token: user.accessToken });
    await t.client.get('/api/products/999999');
    const entries = logger.entries.filter((e) => e.msg === 'request');
    expect(entries).toHaveLength(2);
    expect(entries[0]!.fields).toMatchObject({
      method: 'GET',
      path: '/api/users/profile',
      route: '/api/users/profile',
      status: 200,
      ip: '127.0.0.1',
      user: user.userId || expect.any(String),
    });
    expect(entries[0]!.fields.ms).toEqual(expect.any(Number));
    expect(entries[1]!.fields).toMatchObject({ status: 404, route: '/api/products/:id' });
    expect(JSON.stringify(logger.entries)).not.toContain(user.accessToken);
  });
});

describe('per-IP API rate limit', () => {
  let limited: TestShop;
  beforeAll(async () => {
    limited = await startShop({ SHOP_API_RATE_LIMIT: '5/1m' });
  });
  afterAll(() => limited?.close());

  it('429s an IP over its quota with Retry-After and RateLimit headers; health and UI stay up', async () => {
    const results = [];
    for (let i = 0; i < 6; i++) results.push(await limited.client.get('/api/products'));
    expect(results.slice(0, 5).every((r) => r.status === 200)).toBe(true);
    const denied = results[5]!;
    expect(denied.status).toBe(429);
    expect(denied.body.code).toBe('RATE_LIMITED');
    expect(Number(denied.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(denied.headers.get('ratelimit-policy')).toContain('"api"');
    expect(results[0]!.headers.get('ratelimit')).toContain('r=4');
    // The whole API shares the quota...
    expect(
      (await limited.client.post('/api/users/login', { email: 'a@b.c', password: 'x' })).status,
    ).toBe(429);
    // ...but not health checks, metrics or the UI.
    expect((await limited.client.get('/healthz')).status).toBe(200);
    expect((await limited.client.get('/metrics')).status).toBe(200);
    expect((await limited.client.get('/')).status).toBe(200);
  });
});

describe('the web UI', () => {
  it('serves the page and its modules from memory', async () => {
    const page = await t.client.get('/');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.text).toContain('<script type="module" src="/static/js/app.js"></script>');
    const js = await t.client.get('/static/js/app.js');
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    const css = await t.client.get('/static/styles.css');
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8');
    expect((await t.client.get('/static/nope.js')).status).toBe(404);
  });

  it('never serves files outside public/', async () => {
    for (const path of [
      '/static/../src/shop.ts',
      '/static/..%2fsrc%2fshop.ts',
      '/static/%2e%2e/package.json',
      '/static//etc/passwd',
    ]) {
      const res = await raw('GET', path);
      expect(res.status, path).toBe(404);
      expect(res.body).not.toContain('createShop');
    }
  });
});

describe('bad input: 4xx JSON, never 500', () => {
  it('400s malformed JSON, 415s unknown content types, 413s oversized bodies', async () => {
    const user = await newUser(t.client);
    const auth = { authorization: `Bearer ${user.accessToken}` };
    const bad = await t.client.request('POST', '/api/orders', {
      raw: '{"items": [',
      headers: { ...auth, 'content-type': 'application/json' },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('INVALID_JSON');
    const empty = await t.client.request('POST', '/api/users/signup', {
      raw: '',
      headers: { 'content-type': 'application/json' },
    });
    expect(empty.status).toBe(400);
    expect(empty.body.code).toBe('EMPTY_BODY');
    const text = await t.client.request('POST', '/api/users/signup', {
      raw: '<a/>',
      headers: { 'content-type': 'application/xml' },
    });
    expect(text.status).toBe(415);
    expect(text.body.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    const huge = await t.client.post('/api/users/signup', {
      email: 'a@b.cd',
      password: 'x'.repeat(100_000),
    });
    expect(huge.status).toBe(413);
    expect(huge.body.code).toBe('BODY_TOO_LARGE');
  });

  it('404s unknown routes and methods as JSON', async () => {
    for (const [method, path] of [
      ['GET', '/api/nope'],
      ['DELETE', '/api/products'],
      ['GET', '/nope'],
    ] as const) {
      const res = await t.client.request(method, path);
      expect(res.status).toBe(404);
      expect(res.body).toMatchObject({ statusCode: 404, code: 'NOT_FOUND' });
    }
  });

  it('survives a barrage of hostile requests on every route', async () => {
    const user = await newUser(t.client);
    const tokens = [undefined, user.accessToken, admin.accessToken, 'garbage'];
    const bodies: Array<string | undefined> = [
      undefined,
      'null',
      '[]',
      '"text"',
      '42',
      'true',
      '{}',
      '{"items": [{"productId": -1, "quantity": -1}], "requestId": ""}',
      '{"items": [{"productId": 1e308, "quantity": 1}], "requestId": "x"}',
      '{"items": [{"productId": "1; drop table orders", "quantity": 1}], "requestId": "x"}',
      '{"email": {"$gt": ""}, "password": []}',
      '{"stock": 1e400}',
      '{"__proto__": {"admin": true}, "stock": 1}',
      `{"name": "${'\\u0000'.repeat(10)}", "priceCents": 1, "category": "books"}`,
      '{"refreshToken": 123}',
    ];
    const routes: Array<[string, string]> = [
      ['POST', '/api/users/signup'],
      ['POST', '/api/users/login'],
      ['POST', '/api/users/refresh'],
      ['POST', '/api/users/logout'],
      ['GET', '/api/users/profile'],
      ['GET', '/api/products?page=%ZZ'],
      ['GET', '/api/products/%E0%A4%A'],
      ['GET', '/api/products/1'],
      ['POST', '/api/orders'],
      ['GET', '/api/orders'],
      ['GET', '/api/orders/%00'],
      ['POST', '/api/orders/..%2f..%2fadmin/cancel'],
      ['POST', '/api/orders/x/pay'],
      ['POST', '/api/admin/products'],
      ['PUT', '/api/admin/products/1/stock'],
      ['PUT', '/api/admin/products/99999999999999999999/stock'],
      ['POST', '/api/admin/categories'],
      ['POST', '/api/payments/callback'],
    ];
    const requests = [];
    for (const [method, path] of routes) {
      for (const token of tokens) {
        for (const body of bodies) {
          if (method === 'GET' && body !== undefined) continue;
          const headers: Record<string, string> = {};
          if (token) headers.authorization = `Bearer ${token}`;
          if (body !== undefined) headers['content-type'] = 'application/json';
          requests.push(
            raw(method, path, headers, body).then((res) => ({ method, path, token, body, res })),
          );
        }
      }
    }
    const results = await Promise.all(requests);
    const failures = results.filter(({ res }) => {
      if (res.status >= 500) return true;
      if (res.status < 400) return false;
      try {
        return typeof JSON.parse(res.body).statusCode !== 'number';
      } catch {
        return true;
      }
    });
    expect(
      failures.map((f) => `${f.method} ${f.path} ${f.body} -> ${f.res.status} ${f.res.body}`),
    ).toEqual([]);
  });
});
