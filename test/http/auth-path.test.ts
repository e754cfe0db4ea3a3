import { randomBytes } from 'node:crypto';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  authMiddleware,
  decodeRequestPath,
  fastifyAuth,
  matchedPath,
} from '../../src/http/auth.js';
import { AmbiguousPathError, authorizer, tokenService } from '../../src/jwt/index.js';

// The rules of the docs/jwt.md example: support may read orders but never refund them.
const rules = () =>
  authorizer({
    rules: {
      roles: {
        support: [
          { actions: ['GET', 'POST'], resource: '/orders/**' },
          { effect: 'deny', resource: '^/orders/\\d+/refund$', match: 'regex' },
        ],
      },
      grants: { 'u-support': ['support'] },
    },
  });

const keys = [{ kid: 'k1', alg: 'HS256' as const, key: randomBytes(32) }];

/** A raw HTTP request: unlike fetch, it sends the path exactly as written (no normalisation). */
function raw(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port, method, path, headers, agent: false },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** Percent-encode the characters `encode` marks: 0 plain, 1 upper hex, 2 lower hex, 3 double-encoded. */
function encodePath(path: string, modes: readonly number[]): string {
  let out = '';
  for (let i = 0; i < path.length; i++) {
    const c = path[i] as string;
    const hex = c.charCodeAt(0).toString(16).padStart(2, '0');
    const mode = modes[i % modes.length] ?? 0;
    out +=
      mode === 1
        ? `%${hex.toUpperCase()}`
        : mode === 2
          ? `%${hex.toLowerCase()}`
          : mode === 3
            ? `%25${hex}`
            : c;
  }
  return out;
}

const modes = fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 40 });
/** Modes for an allowed path: encode any subset of the characters, except `/`. */
const keepSlashes = (path: string, m: readonly number[]) =>
  [...path].map((c, i) => {
    const mode = m[i % m.length] ?? 0;
    return c === '/' || mode === 3 ? 0 : mode;
  });

describe('decodeRequestPath', () => {
  it('decodes once and keeps a trailing slash', () => {
    expect(decodeRequestPath('/orders/%31/%72efund?x=%2F')).toBe('/orders/1/refund');
    expect(decodeRequestPath('/')).toBe('/');
    expect(decodeRequestPath('/a/b/')).toBe('/a/b/');
    expect(decodeRequestPath('/caf%C3%A9')).toBe('/café');
  });

  it.each([
    '/orders/1%2Frefund',
    '/orders/1%2frefund',
    '/orders/1%5Crefund',
    '/orders/1\\refund',
    '/orders/%2e%2e/x',
    '/orders/../x',
    '/orders/./x',
    '/orders//x',
    '/orders/1%00',
    '/orders/%2572efund',
    '/orders/%zz',
    '/orders/%e',
    '/orders/%ff',
    '/orders/%C3',
    '/orders/a%3Fb',
    '/orders/a%23b',
    '/orders/a#b',
    'orders/1',
    '*',
  ])('refuses the ambiguous %s with AMBIGUOUS_PATH (400)', (path) => {
    let error: unknown;
    try {
      decodeRequestPath(path);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(AmbiguousPathError);
    expect((error as AmbiguousPathError).status).toBe(400);
  });

  it('property: any input decodes to a normalised path or is AMBIGUOUS_PATH, never another error', () => {
    const chars = fc.constantFrom(
      '/',
      '.',
      '%',
      '2',
      'e',
      'E',
      'f',
      'F',
      '0',
      'a',
      '\\',
      '?',
      '#',
      'C',
      '3',
    );
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.array(chars).map((c) => `/${c.join('')}`),
        ),
        (url) => {
          let path: string;
          try {
            path = decodeRequestPath(url);
          } catch (err) {
            expect(err).toBeInstanceOf(AmbiguousPathError);
            return;
          }
          expect(path.startsWith('/')).toBe(true);
          expect(path).not.toMatch(/\/\/|\/\.\.?(\/|$)|[\\%#?]/);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('matchedPath fills a route template with its parameters', () => {
    expect(matchedPath('/orders/:id/refund', { id: '1' })).toBe('/orders/1/refund');
    expect(matchedPath('/files/*', { '*': 'a/b' })).toBe('/files/a/b');
    expect(matchedPath('/at/:lat-:lng', { lat: '1', lng: '2' })).toBe('/at/1-2');
    expect(matchedPath('/id/:id(^\\d+)/x', { id: '7' })).toBe('/id/7/x');
    expect(matchedPath('/a::b/:c', { c: 'd' })).toBe('/a:b/d');
    expect(matchedPath('/orders/:id', {})).toBeUndefined();
  });
});

describe('percent-encoding never bypasses authorization (regression: issue 9 defect 1)', () => {
  const tokens = tokenService({ keys });
  const reached: string[] = [];
  let app: FastifyInstance;
  let server: Server;
  let fastifyPort = 0;
  let nodePort = 0;
  let bearer: Record<string, string> = {};

  beforeAll(async () => {
    const pair = await tokens.issue('u-support');
    bearer = { authorization: `Bearer ${pair.accessToken}` };
    app = Fastify();
    await app.register(fastifyAuth, { tokens, authorizer: rules() });
    app.post('/orders/:id/refund', async () => {
      reached.push('refund');
      return { refunded: true };
    });
    app.get('/orders/:id', async () => ({ order: true }));
    await app.listen({ port: 0, host: '127.0.0.1' });
    fastifyPort = (app.server.address() as AddressInfo).port;

    // The middleware has no router: behind it, a router that routes on the decoded path
    // (as Fastify does), so a bypass would show up as a reached refund.
    const auth = authMiddleware({ tokens, authorizer: rules() });
    server = createServer((req, res) =>
      auth(req, res, (err) => {
        if (err) return void res.writeHead(500).end();
        let path: string;
        try {
          path = decodeURIComponent((req.url ?? '/').split('?')[0] as string);
        } catch {
          return void res.writeHead(404).end();
        }
        if (req.method === 'POST' && /^\/orders\/[^/]+\/refund$/.test(path)) {
          reached.push('refund');
          return void res.writeHead(200).end();
        }
        res.writeHead(/^\/orders\/[^/]+$/.test(path) ? 200 : 404).end();
      }),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    nodePort = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await app.close();
    await new Promise((resolve) => server.close(resolve));
  });

  it('the reproductions of issue 9 are refused and never reach the handler', async () => {
    for (const port of [fastifyPort, nodePort]) {
      expect(await raw(port, 'POST', '/orders/1/refund', bearer)).toBe(403);
      for (const path of ['/orders/1/%72efund', '/orders/%31/refund', '/orders/1/refun%64']) {
        expect(await raw(port, 'POST', path, bearer), path).toBe(403);
      }
      for (const path of [
        '/orders/1%2Frefund',
        '/orders/1/%2572efund',
        '/orders/x/..%2F1/refund',
      ]) {
        expect([400, 403, 404], path).toContain(await raw(port, 'POST', path, bearer));
      }
      expect(await raw(port, 'GET', '/orders/1', bearer)).toBe(200);
    }
    expect(reached).toEqual([]);
  });

  it('property: no encoding of a denied path reaches the handler; encodings of allowed paths work', async () => {
    const denied = fc.tuple(fc.integer({ min: 0, max: 99_999 }), modes);
    await fc.assert(
      fc.asyncProperty(denied, fc.boolean(), async ([id, m], viaFastify) => {
        const path = encodePath(`/orders/${id}/refund`, m);
        const status = await raw(viaFastify ? fastifyPort : nodePort, 'POST', path, bearer);
        expect(status, path).not.toBe(200);
        expect(reached, path).toEqual([]);
      }),
      { numRuns: 150 },
    );
    await fc.assert(
      fc.asyncProperty(denied, fc.boolean(), async ([id, m], viaFastify) => {
        const plain = `/orders/${id}`;
        const path = encodePath(plain, keepSlashes(plain, m));
        const status = await raw(viaFastify ? fastifyPort : nodePort, 'GET', path, bearer);
        expect(status, path).toBe(200);
      }),
      { numRuns: 100 },
    );
  });
});
