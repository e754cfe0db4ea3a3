import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  type AuthenticatedRequest,
  authMiddleware,
  bearerToken,
  fastifyAuth,
  readCookie,
} from '../../src/http/auth.js';
import {
  type AuthError,
  authorizer,
  memorySessionStore,
  type TokenService,
  tokenService,
} from '../../src/jwt/index.js';
import { brokenStore } from '../jwt/fixtures.js';

const keys = [{ kid: 'k1', alg: 'HS256' as const, key: randomBytes(32) }];
const UNAUTHORIZED = { statusCode: 401, error: 'Unauthorized', message: 'Unauthorized' };
const FORBIDDEN = { statusCode: 403, error: 'Forbidden', message: 'Forbidden' };

const apps: FastifyInstance[] = [];
afterAll(async () => {
  await Promise.all(apps.map((app) => app.close()));
});

async function start(tokens: TokenService, extra: Partial<Parameters<typeof fastifyAuth>[1]> = {}) {
  const rejected: string[] = [];
  const app = Fastify();
  apps.push(app);
  await app.register(fastifyAuth, {
    tokens,
    publicPaths: ['/health', '/products/**', /^\/pages\/\d+$/],
    onReject: (err: AuthError) => rejected.push(err.code),
    routes: {
      login: {
        authenticate: async (request) => {
          const { user, password } = (request.body ?? {}) as { user?: string; password?: string };
          return password === 'secret' && user ? { subject: user, claims: { name: user } } : null;
        },
      },
      refresh: true,
      logout: true,
    },
    ...extra,
  });
  app.get('/health', async (request) => ({ ok: true, auth: request.auth }));
  app.get('/products/:id', async () => ({ product: true }));
  app.get('/pages/:n', async () => ({ page: true }));
  app.get('/me', async (request) => ({ sub: request.auth?.sub, name: request.auth?.name }));
  app.get('/orders/:id', async () => ({ order: true }));
  app.delete('/orders/:id', async () => ({ deleted: true }));
  app.get('/open', { config: { auth: false } }, async () => ({ open: true }));
  await app.listen({ port: 0, host: '127.0.0.1' });
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const call = (path: string, init: RequestInit = {}) => fetch(base + path, init);
  const login = async (user = 'alice') => {
    const res = await call('/auth/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'test-agent' },
      body: JSON.stringify({ user, password: 'secret' }),
    });
    expect(res.status).toBe(200);
    return { res, body: (await res.json()) as { accessToken: string; refreshToken: string } };
  };
  const bearer = (token: string) => ({
    headers: { authorization: `Bearer ${token}`, 'user-agent': 'test-agent' },
  });
  return { app, call, login, bearer, rejected };
}

describe('fastifyAuth over real HTTP', () => {
  it('public paths need no token; protected ones answer a uniform 401', async () => {
    const { call, rejected } = await start(tokenService({ keys }));
    for (const path of ['/health', '/products/1', '/pages/7', '/open', '/health?x=1']) {
      expect((await call(path)).status, path).toBe(200);
    }
    // Public by glob; the router then finds no such route.
    expect((await call('/products/1/reviews')).status).toBe(404);
    const res = await call('/me');
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
    expect(await res.json()).toEqual(UNAUTHORIZED);
    expect(rejected).toEqual(['TOKEN_MISSING']);
  });

  it('paths that could be normalised into another are never public', async () => {
    const { call } = await start(tokenService({ keys }));
    // fetch normalises dot segments itself: these arrive as /me.
    for (const path of ['/products/../me', '/products/%2e%2e/me']) {
      expect((await call(path)).status, path).toBe(401);
    }
    // Ambiguous paths are refused outright (AMBIGUOUS_PATH, 400), public prefix or not.
    for (const path of ['/products//x', '/products/a%2fb', '/products/%2570']) {
      expect((await call(path)).status, path).toBe(400);
    }
  });

  it('login returns tokens in the body and the x-jwt-token / x-refresh-token headers; they work', async () => {
    const { call, login, bearer } = await start(tokenService({ keys }));
    const { res, body } = await login();
    expect(res.headers.get('x-jwt-token')).toBe(body.accessToken);
    expect(res.headers.get('x-refresh-token')).toBe(body.refreshToken);
    expect(body).toEqual({
      accessToken: expect.any(String),
      refreshToken: expect.any(String),
      expiresAt: expect.any(Number),
      refreshExpiresAt: expect.any(Number),
    });
    const me = await call('/me', bearer(body.accessToken));
    expect(await me.json()).toEqual({ sub: 'alice', name: 'alice' });
    // A bare token (no scheme) works too.
    expect((await call('/me', { headers: { authorization: body.accessToken } })).status).toBe(200);
    // Public paths still see no claims.
    expect(await (await call('/health', bearer(body.accessToken))).json()).toEqual({
      ok: true,
      auth: null,
    });
  });

  it('a failed login is the same 401', async () => {
    const { call, rejected } = await start(tokenService({ keys }));
    const res = await call('/auth/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user: 'alice', password: 'guess' }),
    });
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual(UNAUTHORIZED);
    expect(rejected).toEqual(['LOGIN_FAILED']);
  });

  it('refresh rotates through the header or the body; a replay is a 401 and kills the session', async () => {
    const { call, login, bearer, rejected } = await start(tokenService({ keys }));
    const { body: first } = await login();
    const viaHeader = await call('/auth/refresh', {
      method: 'POST',
      headers: { 'x-refresh-token': first.refreshToken },
    });
    expect(viaHeader.status).toBe(200);
    const second = (await viaHeader.json()) as { accessToken: string; refreshToken: string };
    expect(viaHeader.headers.get('x-jwt-token')).toBe(second.accessToken);
    const viaBody = await call('/auth/refresh', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refreshToken: second.refreshToken }),
    });
    expect(viaBody.status).toBe(200);
    const third = (await viaBody.json()) as { accessToken: string };

    const replay = await call('/auth/refresh', {
      method: 'POST',
      headers: { 'x-refresh-token': first.refreshToken },
    });
    expect(replay.status).toBe(401);
    expect(await replay.json()).toEqual(UNAUTHORIZED);
    expect((await call('/me', bearer(third.accessToken))).status).toBe(401);
    expect(rejected).toEqual(['REFRESH_TOKEN_REUSED', 'SESSION_REVOKED']);
  });

  it('logout ends the session; {"all": true} ends every session of the subject', async () => {
    const { call, login, bearer } = await start(tokenService({ keys }));
    const { body: one } = await login();
    const { body: two } = await login();
    const { body: three } = await login();
    const out = await call('/auth/logout', { method: 'POST', ...bearer(one.accessToken) });
    expect(out.status).toBe(204);
    expect((await call('/me', bearer(one.accessToken))).status).toBe(401);
    expect((await call('/me', bearer(two.accessToken))).status).toBe(200);
    const all = await call('/auth/logout', {
      method: 'POST',
      headers: { ...bearer(two.accessToken).headers, 'content-type': 'application/json' },
      body: JSON.stringify({ all: true }),
    });
    expect(all.status).toBe(204);
    expect((await call('/me', bearer(three.accessToken))).status).toBe(401);
    expect((await call('/auth/logout', { method: 'POST' })).status).toBe(401);
  });

  it('every failure gets the identical body, whatever the check', async () => {
    const tokens = tokenService({ keys });
    const { call, login, bearer, rejected } = await start(tokens);
    const { body } = await login();
    const [h, p] = body.accessToken.split('.');
    const attempts: Array<[string, RequestInit]> = [
      ['expired-looking garbage', bearer('x.y.z')],
      ['tampered', bearer(`${h}.${p}x.sig`)],
      ['refresh as access', bearer(body.refreshToken)],
      ['basic scheme', { headers: { authorization: 'Basic dXNlcjpwYXNz' } }],
      ['empty bearer', { headers: { authorization: 'Bearer ' } }],
      ['oversize', bearer('a'.repeat(9000))],
    ];
    const bodies = [];
    for (const [label, init] of attempts) {
      const res = await call('/me', init);
      expect(res.status, label).toBe(401);
      bodies.push(await res.text());
    }
    expect(new Set(bodies).size).toBe(1);
    expect(rejected).toEqual([
      'TOKEN_INVALID',
      'TOKEN_INVALID',
      'TOKEN_TYPE',
      'TOKEN_INVALID',
      'TOKEN_MISSING',
      'TOKEN_INVALID',
    ]);
  });

  it('reads the token from a cookie when configured', async () => {
    const tokens = tokenService({ keys });
    const { call } = await start(tokens, { cookie: 'access_token' });
    const pair = await tokens.issue('carol');
    const res = await call('/me', {
      headers: { cookie: `theme=dark; access_token=${pair.accessToken}` },
    });
    expect(await res.json()).toEqual({ sub: 'carol' });
    expect((await call('/me', { headers: { cookie: 'theme=dark' } })).status).toBe(401);
  });

  it('authorizer denials are a uniform 403', async () => {
    const tokens = tokenService({ keys });
    const authz = authorizer({
      rules: {
        roles: {
          user: [
            { actions: ['GET'], resource: '/me' },
            { actions: ['GET'], resource: '/orders/*' },
          ],
          admin: [{ resource: '/**' }],
        },
        grants: { root: ['admin'] },
      },
      defaultRoles: ['user'],
    });
    const { call, login, bearer, rejected } = await start(tokens, { authorizer: authz });
    const { body } = await login('alice');
    expect((await call('/orders/1', bearer(body.accessToken))).status).toBe(200);
    const denied = await call('/orders/1', { method: 'DELETE', ...bearer(body.accessToken) });
    expect(denied.status).toBe(403);
    expect(await denied.json()).toEqual(FORBIDDEN);
    expect(rejected).toEqual(['ACCESS_DENIED']);
    const { body: root } = await login('root');
    expect(
      (await call('/orders/1', { method: 'DELETE', ...bearer(root.accessToken) })).status,
    ).toBe(200);
    // Live: a grant applies to the next request, no new token needed.
    await authz.grant('alice', 'admin');
    expect(
      (await call('/orders/1', { method: 'DELETE', ...bearer(body.accessToken) })).status,
    ).toBe(200);
  });

  it('binds tokens to the user agent when the service does', async () => {
    const tokens = tokenService({ keys, bindUserAgent: true });
    const { call, login, rejected } = await start(tokens);
    const { body } = await login();
    const ok = await call('/me', {
      headers: { authorization: `Bearer ${body.accessToken}`, 'user-agent': 'test-agent' },
    });
    expect(ok.status).toBe(200);
    const stolen = await call('/me', {
      headers: { authorization: `Bearer ${body.accessToken}`, 'user-agent': 'evil' },
    });
    expect(stolen.status).toBe(401);
    expect(rejected).toEqual(['USER_AGENT_MISMATCH']);
  });

  it('CORS preflights pass; a session store outage is a 503', async () => {
    const healthy = tokenService({ keys, sessionStore: memorySessionStore() });
    const pair = await healthy.issue('u-1');
    const { call } = await start(tokenService({ keys, sessionStore: brokenStore() }));
    const preflight = await call('/me', {
      method: 'OPTIONS',
      headers: { origin: 'https://shop.example', 'access-control-request-method': 'GET' },
    });
    expect(preflight.status).not.toBe(401);
    const down = await call('/me', { headers: { authorization: `Bearer ${pair.accessToken}` } });
    expect(down.status).toBe(503);
    expect(down.headers.get('retry-after')).toBe('1');
    expect(await down.json()).toEqual({
      statusCode: 503,
      error: 'Service Unavailable',
      message: 'Service Unavailable',
    });
  });

  it('refuses bad options', async () => {
    const app = Fastify();
    apps.push(app);
    await expect(app.register(fastifyAuth, { tokens: {} as never })).rejects.toMatchObject({
      code: 'INVALID_OPTIONS',
    });
  });
});

describe('authMiddleware (Node http)', () => {
  let server: Server | undefined;
  afterEach(
    () => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())),
  );

  it('sets req.auth, answers the uniform 401 / 403 and passes other errors to next', async () => {
    const tokens = tokenService({ keys });
    const authz = authorizer({
      rules: { roles: { user: [{ actions: ['GET'], resource: '/me' }] } },
      defaultRoles: ['user'],
    });
    const auth = authMiddleware({ tokens, authorizer: authz, publicPaths: ['/health'] });
    server = createServer((req, res) =>
      auth(req, res, (err) => {
        if (err) {
          res.writeHead(500).end();
          return;
        }
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ auth: (req as AuthenticatedRequest).auth?.sub ?? null }));
      }),
    );
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const pair = await tokens.issue('dave');
    const authorization = `Bearer ${pair.accessToken}`;

    expect(await (await fetch(`${base}/health`)).json()).toEqual({ auth: null });
    expect(await (await fetch(`${base}/me`, { headers: { authorization } })).json()).toEqual({
      auth: 'dave',
    });
    const missing = await fetch(`${base}/me`);
    expect(missing.status).toBe(401);
    expect(await missing.json()).toEqual(UNAUTHORIZED);
    const denied = await fetch(`${base}/me`, { method: 'POST', headers: { authorization } });
    expect(denied.status).toBe(403);
    expect(await denied.json()).toEqual(FORBIDDEN);
    await tokens.logout(pair.sessionId);
    expect((await fetch(`${base}/me`, { headers: { authorization } })).status).toBe(401);
  });

  it('non-auth errors go to next(err)', async () => {
    const boom = {
      verifyAccess: async () => Promise.reject(new Error('bug')),
    } as unknown as TokenService;
    const auth = authMiddleware({ tokens: boom });
    const errors: unknown[] = [];
    server = createServer((req, res) =>
      auth(req, res, (err) => {
        errors.push(err);
        res.writeHead(500).end();
      }),
    );
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    expect((await fetch(`${base}/x`, { headers: { authorization: 'Bearer a.b.c' } })).status).toBe(
      500,
    );
    expect(errors).toEqual([expect.objectContaining({ message: 'bug' })]);
  });
});

describe('token helpers', () => {
  it('bearerToken and readCookie', () => {
    expect(bearerToken('Bearer abc')).toBe('abc');
    expect(bearerToken('bearer   abc  ')).toBe('abc');
    expect(bearerToken('abc')).toBe('abc');
    expect(bearerToken('Bearer')).toBeUndefined();
    expect(bearerToken('Bearer ')).toBeUndefined();
    expect(bearerToken('')).toBeUndefined();
    expect(bearerToken(undefined)).toBeUndefined();
    expect(() => bearerToken('Basic abc')).toThrow(
      expect.objectContaining({ code: 'TOKEN_INVALID' }),
    );
    expect(readCookie('a=1; b=2', 'b')).toBe('2');
    expect(readCookie('a=1; b="x%20y"', 'b')).toBe('x y');
    expect(readCookie('a=1', 'b')).toBeUndefined();
    expect(readCookie(undefined, 'b')).toBeUndefined();
    expect(readCookie('b=%E0%A4%A', 'b')).toBe('%E0%A4%A');
  });
});
