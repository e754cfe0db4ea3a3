// The Fastify plugin end to end: a real server on port 0, real fetch.
import Fastify, { type FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { type RouteRateLimitConfig, rateLimitPlugin } from '../../src/http/index.js';
import {
  concurrencyLimit,
  fixedWindow,
  redisStore,
  slidingWindowLog,
  tokenBucket,
} from '../../src/ratelimit/index.js';
import { sharedRedisUrl, uniquePrefix } from '../harness/index.js';

const apps: FastifyInstance[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

async function start(app: FastifyInstance): Promise<string> {
  apps.push(app);
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  return address;
}

const get = (url: string, headers: Record<string, string> = {}) => fetch(url, { headers });

describe('rateLimitPlugin', () => {
  it('limits every route, answers 429 with Retry-After and the IETF headers', async () => {
    const app = Fastify();
    app.get('/early', async () => 'registered before the plugin');
    await app.register(rateLimitPlugin, { limiter: fixedWindow({ limit: 2, windowMs: 60_000 }) });
    app.get('/hello', async () => ({ hello: 'world' }));
    const base = await start(app);

    const first = await get(`${base}/hello`);
    expect(first.status).toBe(200);
    expect(first.headers.get('ratelimit-policy')).toBe('"default";q=2;w=60');
    expect(first.headers.get('ratelimit')).toBe('"default";r=1;t=60');
    expect((await get(`${base}/early`)).status).toBe(200); // same IP, same quota
    const denied = await get(`${base}/hello`);
    expect(denied.status).toBe(429);
    expect(denied.headers.get('retry-after')).toBe('60');
    expect(denied.headers.get('ratelimit')).toBe('"default";r=0;t=60');
    expect(await denied.json()).toMatchObject({ statusCode: 429, code: 'RATE_LIMITED' });
    expect((await get(`${base}/unknown`)).status).toBe(429); // unmatched URLs count too
  });

  it('per-route config counts separately; rateLimit: false exempts a route', async () => {
    const app = Fastify();
    await app.register(rateLimitPlugin, {
      limiter: fixedWindow({ limit: 3, windowMs: 60_000 }),
      policyName: 'api',
    });
    const login: RouteRateLimitConfig = {
      limiter: slidingWindowLog({ limit: 1, windowMs: 60_000 }),
      policyName: 'login',
    };
    app.post('/login', { config: { rateLimit: login } }, async () => 'ok');
    app.get('/health', { config: { rateLimit: false } }, async () => 'ok');
    app.get('/data', async () => 'ok');
    const base = await start(app);

    const ok = await fetch(`${base}/login`, { method: 'POST' });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('ratelimit-policy')).toBe('"login";q=1;w=60');
    expect((await fetch(`${base}/login`, { method: 'POST' })).status).toBe(429);
    for (let i = 0; i < 5; i++) {
      const health = await get(`${base}/health`);
      expect(health.status).toBe(200);
      expect(health.headers.get('ratelimit')).toBeNull();
    }
    const data = await get(`${base}/data`);
    expect(data.headers.get('ratelimit')).toBe('"api";r=2;t=60'); // login did not use it
  });

  it('global: false limits only routes that ask for it', async () => {
    const app = Fastify();
    await app.register(rateLimitPlugin, {
      global: false,
      limiter: fixedWindow({ limit: 1, windowMs: 60_000 }),
    });
    app.get('/free', async () => 'ok');
    app.get('/limited', { config: { rateLimit: {} } }, async () => 'ok');
    const base = await start(app);
    for (let i = 0; i < 3; i++) expect((await get(`${base}/free`)).status).toBe(200);
    expect((await get(`${base}/limited`)).status).toBe(200);
    expect((await get(`${base}/limited`)).status).toBe(429);
  });

  it("key 'user' gives each authenticated subject its own quota, anonymous ones share the IP's", async () => {
    const app = Fastify();
    // What girder's auth plugin does: set request.auth before the limiter runs.
    app.decorateRequest('auth', null);
    app.addHook('onRequest', async (request) => {
      const sub = request.headers['x-user'];
      (request as unknown as { auth: unknown }).auth = typeof sub === 'string' ? { sub } : null;
    });
    await app.register(rateLimitPlugin, {
      limiter: fixedWindow({ limit: 1, windowMs: 60_000 }),
      key: 'user',
    });
    app.get('/', async () => 'ok');
    const base = await start(app);
    expect((await get(base, { 'x-user': 'alice' })).status).toBe(200);
    expect((await get(base, { 'x-user': 'alice' })).status).toBe(429);
    expect((await get(base, { 'x-user': 'bob' })).status).toBe(200);
    expect((await get(base)).status).toBe(200);
    expect((await get(base)).status).toBe(429);
  });

  it("key 'route' shares one quota per route; a custom key function and allow-lists work", async () => {
    const app = Fastify();
    await app.register(rateLimitPlugin, {
      limiter: fixedWindow({ limit: 1, windowMs: 60_000 }),
      key: 'route',
    });
    app.get('/a/:id', async () => 'ok');
    app.get(
      '/b',
      {
        config: {
          rateLimit: { key: (r) => String(r.headers['x-api-key'] ?? 'none'), allowList: ['vip'] },
        },
      },
      async () => 'ok',
    );
    const base = await start(app);
    expect((await get(`${base}/a/1`)).status).toBe(200);
    expect((await get(`${base}/a/2`)).status).toBe(429); // same route pattern
    expect((await get(`${base}/b`, { 'x-api-key': 'k1' })).status).toBe(200);
    expect((await get(`${base}/b`, { 'x-api-key': 'k1' })).status).toBe(429);
    expect((await get(`${base}/b`, { 'x-api-key': 'k2' })).status).toBe(200);
    for (let i = 0; i < 3; i++)
      expect((await get(`${base}/b`, { 'x-api-key': 'vip' })).status).toBe(200);
  });

  it('an IP allow-list bypasses the limiter entirely (no headers)', async () => {
    const app = Fastify();
    await app.register(rateLimitPlugin, {
      limiter: fixedWindow({ limit: 1, windowMs: 60_000 }),
      allowList: ['127.0.0.1'],
    });
    app.get('/', async () => 'ok');
    const base = await start(app);
    for (let i = 0; i < 3; i++) {
      const res = await get(base);
      expect(res.status).toBe(200);
      expect(res.headers.get('ratelimit')).toBeNull();
    }
  });

  it('applies only inside the scope that registers it (encapsulation skipped one level)', async () => {
    const app = Fastify();
    await app.register(async (child) => {
      await child.register(rateLimitPlugin, {
        limiter: fixedWindow({ limit: 1, windowMs: 60_000 }),
      });
      child.get('/inner', async () => 'ok');
    });
    app.get('/outer', async () => 'ok');
    const base = await start(app);
    expect((await get(`${base}/inner`)).status).toBe(200);
    expect((await get(`${base}/inner`)).status).toBe(429);
    for (let i = 0; i < 3; i++) expect((await get(`${base}/outer`)).status).toBe(200);
  });

  it('a concurrency limiter holds its slot until the response is done', async () => {
    const app = Fastify();
    const limiter = concurrencyLimit({ max: 1 });
    await app.register(rateLimitPlugin, { limiter, key: 'route' });
    let releaseSlow: () => void = () => {};
    app.get('/slow', async () => {
      await new Promise<void>((resolve) => {
        releaseSlow = resolve;
      });
      return 'done';
    });
    const base = await start(app);
    const slow = get(`${base}/slow`);
    while ((await limiter.peek('route:GET /slow')).remaining > 0)
      await new Promise((r) => setTimeout(r, 5));
    expect((await get(`${base}/slow`)).status).toBe(429);
    releaseSlow();
    expect((await slow).status).toBe(200);
    while ((await limiter.peek('route:GET /slow')).remaining === 0)
      await new Promise((r) => setTimeout(r, 5));
    expect((await limiter.peek('route:GET /slow')).remaining).toBe(1);
  });

  it('rejects bad options with INVALID_OPTIONS, at register and at route declaration', async () => {
    const app = Fastify();
    apps.push(app);
    await expect(app.register(rateLimitPlugin, { key: 'ip' } as never)).rejects.toMatchObject({
      code: 'INVALID_OPTIONS',
    });
    const app2 = Fastify();
    apps.push(app2);
    await app2.register(rateLimitPlugin, { global: false });
    expect(() =>
      app2.get('/x', { config: { rateLimit: { key: 'ip' } } }, async () => 'ok'),
    ).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }));
    const app3 = Fastify();
    apps.push(app3);
    await expect(
      app3.register(rateLimitPlugin, {
        limiter: tokenBucket({ capacity: 1, refillPerSec: 1 }),
        policyName: 'bad"name',
      }),
    ).rejects.toMatchObject({ code: 'INVALID_OPTIONS' });
  });
});

describe('rateLimitPlugin refuses at declaration what would answer 500 later (issue 9 defect 7)', () => {
  const codeOf = (fn: () => unknown) => {
    try {
      fn();
    } catch (error) {
      return (error as { code?: string; issues?: { path: string }[] }).issues?.map((i) => i.path);
    }
    return 'accepted';
  };

  it('a route cost of 1.5 or above the quota fails at route declaration (regression: 500 per request)', async () => {
    const app = Fastify();
    apps.push(app);
    await app.register(rateLimitPlugin, { limiter: fixedWindow({ limit: 5, windowMs: 60_000 }) });
    expect(
      codeOf(() => app.get('/a', { config: { rateLimit: { cost: 1.5 } } }, async () => 'ok')),
    ).toEqual(['cost']);
    expect(
      codeOf(() => app.get('/b', { config: { rateLimit: { cost: 6 } } }, async () => 'ok')),
    ).toEqual(['cost']);
    const small = slidingWindowLog({ limit: 2, windowMs: 60_000 });
    expect(
      codeOf(() =>
        app.get('/c', { config: { rateLimit: { limiter: small, cost: 3 } } }, async () => 'ok'),
      ),
    ).toEqual(['cost']);
    // Fractional costs are fine where the algorithm allows them, up to its quota.
    const bucket = tokenBucket({ capacity: 2, refillPerSec: 1 });
    app.get('/d', { config: { rateLimit: { limiter: bucket, cost: 1.5 } } }, async () => 'ok');
    const base = await start(app);
    expect((await get(`${base}/d`)).status).toBe(200);
  });

  it('a plugin cost above its limiter quota, a misspelt or malformed route config, are refused', async () => {
    const app = Fastify();
    apps.push(app);
    await expect(
      app.register(rateLimitPlugin, {
        limiter: fixedWindow({ limit: 5, windowMs: 60_000 }),
        cost: 10,
      }),
    ).rejects.toMatchObject({ code: 'INVALID_OPTIONS', issues: [{ path: 'cost' }] });
    const app2 = Fastify();
    apps.push(app2);
    await app2.register(rateLimitPlugin, { limiter: fixedWindow({ limit: 5, windowMs: 60_000 }) });
    expect(
      codeOf(() =>
        app2.get('/x', { config: { rateLimit: { cots: 2 } as never } }, async () => 'ok'),
      ),
    ).toEqual(['']);
    expect(
      codeOf(() => app2.get('/y', { config: { rateLimit: 5 as never } }, async () => 'ok')),
    ).toEqual(['']);
    expect(
      codeOf(() => app2.get('/z', { config: { rateLimit: null as never } }, async () => 'ok')),
    ).toEqual(['']);
    expect(
      codeOf(() =>
        app2.get(
          '/w',
          { config: { rateLimit: { cost: Number.POSITIVE_INFINITY } } },
          async () => 'ok',
        ),
      ),
    ).toEqual(['cost']);
  });
});

describe('rateLimitPlugin with a Redis store', () => {
  const client = new Redis(sharedRedisUrl(), { enableAutoPipelining: true });
  afterAll(() => client.disconnect());

  it('two app instances (think: two processes) share one quota', async () => {
    const prefix = uniquePrefix('http redis').slice(0, -1);
    const bases: string[] = [];
    for (let i = 0; i < 2; i++) {
      const app = Fastify();
      await app.register(rateLimitPlugin, {
        limiter: slidingWindowLog({
          limit: 3,
          windowMs: 60_000,
          store: redisStore(client, { prefix }),
        }),
      });
      app.get('/', async () => 'ok');
      bases.push(await start(app));
    }
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push((await get(bases[i % 2]!)).status);
    expect(statuses).toEqual([200, 200, 200, 429, 429]);
  });
});
