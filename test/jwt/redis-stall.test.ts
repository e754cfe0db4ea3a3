// Issue 9 (defects 2 and 3, the Redis half): a refresh or logout reported as failed
// during a Redis stall (SIGSTOP) must not be applied when Redis resumes. The scripts
// reach Redis past their deadline and change nothing, so the client's retry with the same
// refresh token succeeds instead of being taken for token reuse.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisSessionStore, tokenService } from '../../src/jwt/index.js';
import { type RedisServer, startRedis, uniquePrefix } from '../harness/index.js';
import { codeOf, hs256 } from './fixtures.js';

let server: RedisServer;
let client: Redis;
beforeAll(async () => {
  server = await startRedis();
  client = new Redis(server.url);
  client.on('error', () => {});
});
afterAll(async () => {
  client?.disconnect();
  await server?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Run `during` with the server frozen, for at least `ms`. */
async function stalled<T>(ms: number, during: () => Promise<T>): Promise<T> {
  process.kill(server.pid!, 'SIGSTOP');
  try {
    const [result] = await Promise.all([during(), sleep(ms)]);
    return result;
  } finally {
    process.kill(server.pid!, 'SIGCONT');
  }
}

describe('jwt scripts refuse to run after their deadline (regression: issue 9 defect 2/3)', () => {
  it('a refresh reported as failed during a stall is not applied later: the retry succeeds', async () => {
    const tokens = tokenService({
      keys: [hs256],
      sessionStore: redisSessionStore(client, { prefix: uniquePrefix('jwt-stall-refresh') }),
    });
    const pair = await tokens.issue('u-1');
    const code = await stalled(1_300, () => codeOf(tokens.refresh(pair.refreshToken)));
    expect(code).toBe('SESSION_STORE_UNAVAILABLE');
    await client.ping(); // the queued script has run (and refused) by now
    const retried = await tokens.refresh(pair.refreshToken);
    await expect(tokens.verifyAccess(retried.accessToken)).resolves.toMatchObject({ sub: 'u-1' });
  });

  it('a logout reported as failed during a stall is not applied later', async () => {
    const tokens = tokenService({
      keys: [hs256],
      sessionStore: redisSessionStore(client, { prefix: uniquePrefix('jwt-stall-logout') }),
    });
    const pair = await tokens.issue('u-2');
    const code = await stalled(1_300, () => codeOf(tokens.logout(pair.sessionId)));
    expect(code).toBe('SESSION_STORE_UNAVAILABLE');
    await client.ping();
    await expect(tokens.verifyAccess(pair.accessToken)).resolves.toMatchObject({ sub: 'u-2' });
  });
});
