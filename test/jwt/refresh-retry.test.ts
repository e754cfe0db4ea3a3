import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisSessionStore, tokenService } from '../../src/jwt/index.js';
import { type RedisServer, startRedis, uniquePrefix } from '../harness/index.js';
import { codeOf, hs256, makeService } from './fixtures.js';

describe('a refresh retried within reuseGraceMs gets the same pair (regression: issue 9 defect 2)', () => {
  it('a replay of the just-rotated token answers the same successor pair; the session lives', async () => {
    const { tokens } = makeService();
    const first = await tokens.issue('u-1', { claims: { role: 'buyer' } });
    const second = await tokens.refresh(first.refreshToken);
    expect(await tokens.refresh(first.refreshToken)).toEqual(second);
    expect(await tokens.refresh(first.refreshToken)).toEqual(second);
    await expect(tokens.verifyAccess(second.accessToken)).resolves.toMatchObject({ role: 'buyer' });
    const third = await tokens.refresh(second.refreshToken);
    await expect(tokens.verifyAccess(third.accessToken)).resolves.toBeDefined();
  });

  it('concurrent refreshes with one token (two tabs) both get the same pair', async () => {
    const { tokens } = makeService();
    const pair = await tokens.issue('u-1');
    const [a, b] = await Promise.all([
      tokens.refresh(pair.refreshToken),
      tokens.refresh(pair.refreshToken),
    ]);
    expect(a).toEqual(b);
    await expect(tokens.verifyAccess(a.accessToken)).resolves.toBeDefined();
  });

  it('after the grace, or two rotations back, a replay is still reuse and kills the session', async () => {
    const { tokens, clock } = makeService({ reuseGraceMs: 5_000 });
    const first = await tokens.issue('u-1');
    const second = await tokens.refresh(first.refreshToken);
    clock.advance(4_999);
    expect(await tokens.refresh(first.refreshToken)).toEqual(second);
    clock.advance(1);
    expect(await codeOf(tokens.refresh(first.refreshToken))).toBe('REFRESH_TOKEN_REUSED');
    expect(await codeOf(tokens.verifyAccess(second.accessToken))).toBe('SESSION_REVOKED');

    const one = await tokens.issue('u-2');
    const two = await tokens.refresh(one.refreshToken);
    await tokens.refresh(two.refreshToken);
    expect(await codeOf(tokens.refresh(one.refreshToken))).toBe('REFRESH_TOKEN_REUSED');
  });

  it('a replay from another user agent is refused without burning anything', async () => {
    const { tokens } = makeService({ bindUserAgent: true });
    const ua = 'agent/1';
    const first = await tokens.issue('u-1', { userAgent: ua });
    const second = await tokens.refresh(first.refreshToken, { userAgent: ua });
    expect(await codeOf(tokens.refresh(first.refreshToken, { userAgent: 'evil/1' }))).toBe(
      'USER_AGENT_MISMATCH',
    );
    expect(await tokens.refresh(first.refreshToken, { userAgent: ua })).toEqual(second);
  });
});

describe('Redis stalls (SIGSTOP / SIGCONT): retries are safe (regression: issue 9 defect 2)', () => {
  let server: RedisServer;
  const clients: Redis[] = [];
  const connect = () => {
    const client = new Redis(server.url, { maxRetriesPerRequest: null });
    client.on('error', () => {});
    clients.push(client);
    return client;
  };
  const pause = () => process.kill(server.pid as number, 'SIGSTOP');
  const resume = () => process.kill(server.pid as number, 'SIGCONT');

  beforeAll(async () => {
    server = await startRedis();
  });
  afterAll(async () => {
    if (server?.pid) resume();
    for (const c of clients) c.disconnect();
    await server?.stop();
  });

  it('refresh reported as failed during a stall: the retry gets a valid pair and the session lives', async () => {
    const client = connect();
    const prefix = uniquePrefix('jwt-stall');
    const tokens = tokenService({
      keys: [hs256],
      sessionStore: redisSessionStore(client, { prefix, timeoutMs: 300 }),
    });
    const first = await tokens.issue('u-1');

    pause();
    try {
      expect(await codeOf(tokens.refresh(first.refreshToken))).toBe('SESSION_STORE_UNAVAILABLE');
    } finally {
      resume();
    }
    // Replies come in order: the stalled rotation has reached Redis by now. Past its
    // deadline it changed nothing; had it run in time (a lost reply), the reuse grace
    // would answer the retry with the pair it minted. Either way the retry succeeds.
    await client.ping();

    const retried = await tokens.refresh(first.refreshToken);
    await expect(tokens.verifyAccess(retried.accessToken)).resolves.toMatchObject({ sub: 'u-1' });
    // Its refresh token is the current one.
    const next = await tokens.refresh(retried.refreshToken);
    await expect(tokens.verifyAccess(next.accessToken)).resolves.toBeDefined();

    // The store keeps the successor sealed, never in the clear.
    const keys = (await client.call('KEYS', `${prefix}*:s:*`)) as string[];
    const stored = JSON.stringify(await client.call('HGETALL', keys[0] as string));
    expect(stored).not.toContain(next.accessToken);
    expect(stored).not.toContain(next.refreshToken);
  });

  it('logout reported as failed during a stall is not applied late; the retry ends the session', async () => {
    const client = connect();
    const tokens = tokenService({
      keys: [hs256],
      sessionStore: redisSessionStore(client, {
        prefix: uniquePrefix('jwt-stall'),
        timeoutMs: 300,
      }),
    });
    const pair = await tokens.issue('u-1');
    pause();
    try {
      expect(await codeOf(tokens.logout(pair.sessionId))).toBe('SESSION_STORE_UNAVAILABLE');
    } finally {
      resume();
    }
    await client.ping();
    // The stalled script reached Redis after its deadline and changed nothing.
    await expect(tokens.verifyAccess(pair.accessToken)).resolves.toMatchObject({ sub: 'u-1' });
    expect(await tokens.logout(pair.sessionId)).toBe(true);
    expect(await tokens.logout(pair.sessionId)).toBe(false);
    expect(await codeOf(tokens.verifyAccess(pair.accessToken))).toBe('SESSION_REVOKED');
  });
});
