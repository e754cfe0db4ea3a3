import { randomBytes } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, describe, expect, it } from 'vitest';
import {
  authGuard,
  authMiddleware,
  bearerToken,
  fastifyAuth,
  readCookie,
  refreshTokenOf,
  requestToken,
  tokenBody,
  tokenHeaders,
} from '../../src/http/auth.js';
import { type TokenService, tokenService } from '../../src/jwt/index.js';

const keys = [{ kid: 'k1', alg: 'HS256' as const, key: randomBytes(32) }];
const apps: FastifyInstance[] = [];
afterAll(async () => {
  await Promise.all(apps.map((app) => app.close()));
});

const routes = {
  login: { authenticate: async () => ({ subject: 'alice' }) },
  refresh: true as const,
  logout: true as const,
};

async function loginAndRefresh(app: FastifyInstance, base: string) {
  const login = await app.inject({ method: 'POST', url: `${base}/auth/login` });
  expect(login.statusCode, 'login').toBe(200);
  const { refreshToken, accessToken } = login.json() as {
    refreshToken: string;
    accessToken: string;
  };
  // Refresh with no access token at all: the route must be public.
  const refreshed = await app.inject({
    method: 'POST',
    url: `${base}/auth/refresh`,
    headers: { 'x-refresh-token': refreshToken },
  });
  expect(refreshed.statusCode, 'refresh').toBe(200);
  const me = await app.inject({
    method: 'GET',
    url: `${base}/me`,
    headers: { authorization: `Bearer ${accessToken}` },
  });
  expect(me.statusCode, 'me').toBe(200);
  expect((await app.inject({ method: 'GET', url: `${base}/me` })).statusCode).toBe(401);
}

describe('fastifyAuth in a prefix scope (regression: issue 18 item 4)', () => {
  it('registered inside a prefixed plugin: login and refresh are public', async () => {
    const app = Fastify();
    apps.push(app);
    await app.register(
      async (api) => {
        await api.register(fastifyAuth, { tokens: tokenService({ keys }), routes });
        api.get('/me', async (request) => ({ sub: request.auth?.sub }));
      },
      { prefix: '/api' },
    );
    await loginAndRefresh(app, '/api');
  });

  it('registered with { prefix }: the helper routes are mounted under it and public', async () => {
    const app = Fastify();
    apps.push(app);
    await app.register(fastifyAuth, { tokens: tokenService({ keys }), routes, prefix: '/api' });
    app.get('/api/me', async (request) => ({ sub: request.auth?.sub }));
    await loginAndRefresh(app, '/api');
  });
});

describe('strict options (regression: issue 9 defects 7 and 8)', () => {
  const tokens: TokenService = tokenService({ keys });
  const register = async (options: Record<string, unknown>) => {
    const app = Fastify();
    apps.push(app);
    return app.register(fastifyAuth, { tokens, ...options } as never);
  };

  it.each([
    [{ rotues: { refresh: true } }, 'rotues'],
    [{ routes: { login: { authenticate: async () => null, pth: '/x' } } }, 'pth'],
    [{ routes: { login: {} } }, 'routes.login.authenticate'],
    [{ routes: { refersh: true } }, 'refersh'],
    [{ routes: { refresh: { paht: '/r' } } }, 'routes.refresh'],
    [{ publicPaths: 5 }, 'publicPaths'],
    [{ publicPaths: [5] }, 'publicPaths.0'],
  ])('fastifyAuth(%j) throws INVALID_OPTIONS naming %s', async (options, field) => {
    const err = await register(options).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: 'INVALID_OPTIONS' });
    expect((err as Error).message).toContain(field);
  });

  it('authGuard / authMiddleware refuse misspelt options', () => {
    expect(() => authGuard({ tokens, publicPath: ['/x'] } as never)).toThrow(/publicPath/);
    expect(() => authMiddleware({ tokens, publicPaths: 5 } as never)).toThrow(/publicPaths/);
  });

  it('the token and header helpers answer non-strings with INVALID_ARGUMENT', () => {
    const bad = [5, null, {}, ['a']];
    for (const value of bad) {
      expect(() => bearerToken(value as never)).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
      );
      expect(() => readCookie(value as never, 'a')).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
      );
      expect(() => readCookie('a=b', value as never)).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
      );
      expect(() => tokenHeaders(value as never)).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
      );
      expect(() => tokenBody(value as never)).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
      );
    }
    expect(() => requestToken(null as never)).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    expect(() => refreshTokenOf(5 as never)).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    // Absent values are still just absent.
    expect(bearerToken(undefined)).toBeUndefined();
    expect(readCookie(undefined, 'a')).toBeUndefined();
    expect(requestToken({})).toBeUndefined();
    expect(refreshTokenOf({}, null)).toBeUndefined();
  });
});
