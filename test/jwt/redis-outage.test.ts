import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Authorizer,
  authorizer,
  redisPolicyStore,
  redisSessionStore,
  tokenService,
} from '../../src/jwt/index.js';
import { type RedisServer, startRedis, uniquePrefix } from '../harness/index.js';
import { codeOf, hs256 } from './fixtures.js';

// A dedicated server: these tests kill it, restart it and cut its pub/sub clients.
let server: RedisServer;
const clients: Redis[] = [];
const connect = () => {
  const client = new Redis(server.url, { retryStrategy: () => 50, maxRetriesPerRequest: null });
  client.on('error', () => {}); // refused connections are the point of these tests
  clients.push(client);
  return client;
};

beforeAll(async () => {
  server = await startRedis();
});
afterAll(async () => {
  for (const c of clients) c.disconnect();
  await server?.stop();
});

const until = async (check: () => boolean | Promise<boolean>, what: string) => {
  const deadline = Date.now() + 10_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe('Redis outages', () => {
  it('verifyAccess fails closed (503) while Redis is down, or open when configured; recovers after', async () => {
    const prefix = uniquePrefix('jwt-outage');
    const client = connect();
    const store = redisSessionStore(client, { prefix, timeoutMs: 300 });
    const closed = tokenService({ keys: [hs256], sessionStore: store });
    const open = tokenService({ keys: [hs256], sessionStore: store, onStoreError: 'allow' });
    const pair = await closed.issue('u-1');
    await expect(closed.verifyAccess(pair.accessToken)).resolves.toBeDefined();

    await server.kill();
    expect(await codeOf(closed.verifyAccess(pair.accessToken))).toBe('SESSION_STORE_UNAVAILABLE');
    await expect(open.verifyAccess(pair.accessToken)).resolves.toMatchObject({ sub: 'u-1' });
    expect(await codeOf(closed.issue('u-2'))).toBe('SESSION_STORE_UNAVAILABLE');
    expect(await codeOf(open.refresh(pair.refreshToken))).toBe('SESSION_STORE_UNAVAILABLE');
    expect(await codeOf(closed.logout(pair.sessionId))).toBe('SESSION_STORE_UNAVAILABLE');

    await server.restart();
    await until(() => client.status === 'ready', 'the client to reconnect');
    // The server kept no data (no persistence): every session is gone, which reads as
    // revoked — losing the store logs everyone out, it never lets a revoked token back in.
    expect(await codeOf(closed.verifyAccess(pair.accessToken))).toBe('SESSION_REVOKED');
    const fresh = await closed.issue('u-1');
    await expect(closed.verifyAccess(fresh.accessToken)).resolves.toBeDefined();
  });

  it('scripts survive SCRIPT FLUSH (EVALSHA falls back to EVAL on NOSCRIPT)', async () => {
    const client = connect();
    const tokens = tokenService({
      keys: [hs256],
      sessionStore: redisSessionStore(client, { prefix: uniquePrefix('jwt-noscript') }),
    });
    const first = await tokens.issue('u-1');
    await client.call('SCRIPT', 'FLUSH');
    const second = await tokens.refresh(first.refreshToken);
    await expect(tokens.verifyAccess(second.accessToken)).resolves.toBeDefined();
  });

  it('policy changes made while a subscriber was cut off are applied when it reconnects', async () => {
    const prefix = uniquePrefix('jwt-authz-outage');
    const stores = [
      redisPolicyStore(connect(), { prefix }),
      redisPolicyStore(connect(), { prefix }),
    ];
    const [writer, reader]: Authorizer[] = stores.map((store) => authorizer({ store }));
    await Promise.all([writer!.ready(), reader!.ready()]);
    try {
      await writer!.grant('u-1', 'ops');
      await until(() => reader!.version === 1, 'the first change');

      // Cut every pub/sub connection; the command connections stay up. Messages sent
      // before the subscribers are back are lost; the version check on reconnect repairs it.
      const admin = connect();
      await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub');
      await writer!.grant('u-1', 'audit');
      await writer!.revoke('u-1', 'ops');
      await until(() => reader!.version === 3, 'the reader to resync');
      expect(reader!.rolesOf('u-1')).toEqual(['audit']);
    } finally {
      await Promise.all([writer!.close(), reader!.close(), ...stores.map((s) => s.close())]);
    }
  });
});
