// The Node (req, res, next) middleware on a real node:http server, wired the way
// Express/Connect call middleware.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { manualClock } from '../../src/core/index.js';
import { rateLimitMiddleware } from '../../src/http/index.js';
import {
  fixedWindow,
  type RedisStore,
  StoreClosedError,
  tokenBucket,
} from '../../src/ratelimit/index.js';

type Middleware = (
  req: IncomingMessage,
  res: ServerResponse,
  next: (err?: unknown) => void,
) => void;

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** A minimal Connect-style app: run the middleware, then a handler or the error handler. */
async function serve(middleware: Middleware): Promise<string> {
  const server = createServer((req, res) => {
    middleware(req, res, (err) => {
      if (err) {
        res.statusCode = 500;
        res.end(String((err as { code?: string }).code ?? err));
        return;
      }
      res.end('ok');
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('rateLimitMiddleware', () => {
  it('passes allowed requests on with headers and answers 429 itself', async () => {
    const base = await serve(
      rateLimitMiddleware({
        limiter: tokenBucket({ capacity: 2, refillPerSec: 0.5, clock: manualClock(0) }),
      }),
    );
    const first = await fetch(base);
    expect(first.status).toBe(200);
    expect(await first.text()).toBe('ok');
    expect(first.headers.get('ratelimit-policy')).toBe('"default";q=2;w=4');
    expect(first.headers.get('ratelimit')).toBe('"default";r=1;t=2');
    expect((await fetch(base)).status).toBe(200);
    const denied = await fetch(base);
    expect(denied.status).toBe(429);
    expect(denied.headers.get('retry-after')).toBe('2');
    expect(denied.headers.get('content-type')).toMatch(/application\/json/);
    expect(await denied.json()).toMatchObject({ code: 'RATE_LIMITED', retryAfterMs: 2_000 });
  });

  it('keys by a custom function, by route (path), and honours the allow-list', async () => {
    const byHeader = await serve(
      rateLimitMiddleware({
        limiter: fixedWindow({ limit: 1, windowMs: 60_000 }),
        key: (req) => String(req.headers['x-api-key']),
        allowList: (_req, key) => key === 'internal',
        errorBody: () => ({ slowDown: true }),
      }),
    );
    const call = (key: string) => fetch(byHeader, { headers: { 'x-api-key': key } });
    expect((await call('a')).status).toBe(200);
    const denied = await call('a');
    expect(denied.status).toBe(429);
    expect(await denied.json()).toEqual({ slowDown: true });
    expect((await call('b')).status).toBe(200);
    for (let i = 0; i < 3; i++) expect((await call('internal')).status).toBe(200);

    const byRoute = await serve(
      rateLimitMiddleware({ limiter: fixedWindow({ limit: 1, windowMs: 60_000 }), key: 'route' }),
    );
    expect((await fetch(`${byRoute}/x?page=1`)).status).toBe(200);
    expect((await fetch(`${byRoute}/x?page=2`)).status).toBe(429);
    expect((await fetch(`${byRoute}/y`)).status).toBe(200);
  });

  it('uses req.ip when a framework (Express) sets it', async () => {
    const limiter = fixedWindow({ limit: 1, windowMs: 60_000 });
    const inner = rateLimitMiddleware({ limiter, headers: false });
    const base = await serve((req, res, next) => {
      (req as IncomingMessage & { ip?: string }).ip = String(req.headers['x-forwarded-for']);
      inner(req, res, next);
    });
    const from = (ip: string) => fetch(base, { headers: { 'x-forwarded-for': ip } });
    const ok = await from('10.0.0.1');
    expect(ok.status).toBe(200);
    expect(ok.headers.get('ratelimit')).toBeNull();
    expect((await from('10.0.0.1')).status).toBe(429);
    expect((await from('10.0.0.2')).status).toBe(200);
    expect((await limiter.peek('ip:10.0.0.2')).remaining).toBe(0);
  });

  it('hands limiter errors to next(err)', async () => {
    const store: RedisStore = {
      kind: 'redis',
      close() {},
      async [Symbol.asyncDispose]() {},
      prefix: 'x',
      run: () => Promise.reject(new StoreClosedError('ended')),
      retry: (error) => Promise.reject(error),
      decide(script, key, cost, onReply, onError) {
        return this.run(script, key, cost).then(onReply, onError);
      },
      call: () => Promise.reject(new StoreClosedError('ended')),
      del: () => Promise.resolve(),
    };
    const base = await serve(
      rateLimitMiddleware({ limiter: fixedWindow({ limit: 1, windowMs: 1_000, store }) }),
    );
    const res = await fetch(base);
    expect(res.status).toBe(500);
    expect(await res.text()).toBe('STORE_CLOSED');
  });

  it('rejects bad options with INVALID_OPTIONS', () => {
    expect(() => rateLimitMiddleware({} as never)).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS' }),
    );
    expect(() =>
      rateLimitMiddleware({
        limiter: fixedWindow({ limit: 1, windowMs: 1 }),
        key: 'cookie' as never,
      }),
    ).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }));
  });

  it('refuses a cost the limiter could never allow, and misspelt options (regression: 500 per request)', () => {
    const limiter = fixedWindow({ limit: 5, windowMs: 1_000 });
    for (const cost of [1.5, 6, 0, Number.NaN]) {
      expect(() => rateLimitMiddleware({ limiter, cost })).toThrow(
        expect.objectContaining({
          code: 'INVALID_OPTIONS',
          issues: [expect.objectContaining({ path: 'cost' })],
        }),
      );
    }
    expect(() => rateLimitMiddleware({ limiter, allowlist: [] } as never)).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS' }),
    );
  });
});
