import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { manualClock } from '../../src/core/index.js';
import {
  type AuthError,
  type Authorizer,
  authorizer,
  type RedisSessionStoreOptions,
  redisPolicyStore,
  redisSessionStore,
  type TokenPair,
  tokenService,
} from '../../src/jwt/index.js';
import { sharedRedisUrl, uniquePrefix } from '../harness/index.js';
import { codeOf, hs256, T0 } from './fixtures.js';

const clients: Redis[] = [];
const connect = () => {
  const client = new Redis(sharedRedisUrl());
  clients.push(client);
  return client;
};
const closers: Array<() => Promise<void>> = [];
afterAll(async () => {
  await Promise.all(closers.map((close) => close()));
  await Promise.all(clients.map((c) => c.quit()));
});

/** Two token services, each with its own Redis connection, sharing one key prefix. */
function twoInstances(
  storeOptions: Omit<RedisSessionStoreOptions, 'prefix'> = {},
  reuseGraceMs?: number,
) {
  const prefix = uniquePrefix('jwt-instances');
  const clock = manualClock(T0);
  const make = (options: Omit<RedisSessionStoreOptions, 'prefix'>) =>
    tokenService({
      keys: [hs256],
      clock,
      sessionStore: redisSessionStore(connect(), { prefix, ...options }),
      ...(reuseGraceMs !== undefined && { reuseGraceMs }),
    });
  return { a: make({}), b: make(storeOptions), clock };
}

/** Resolve once `authz` has applied version `version` (pub/sub delivery takes a moment). */
function reaches(authz: Authorizer, version: number): Promise<void> {
  if (authz.version >= version) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`still at version ${authz.version}`)), 5_000);
    const off = authz.events.on('changed', () => {
      if (authz.version < version) return;
      clearTimeout(timer);
      off();
      resolve();
    });
  });
}

describe('two instances sharing Redis', () => {
  it('a logout on one instance is refused by the other on its very next check', async () => {
    const { a, b } = twoInstances();
    const pair = await a.issue('u-1');
    await expect(b.verifyAccess(pair.accessToken)).resolves.toMatchObject({ sub: 'u-1' });
    await a.logout(pair.sessionId);
    expect(await codeOf(b.verifyAccess(pair.accessToken))).toBe('SESSION_REVOKED');
    expect(await codeOf(b.refresh(pair.refreshToken))).toBe('SESSION_REVOKED');
  });

  it('logoutAll and ban on one instance act on the other at once', async () => {
    const { a, b } = twoInstances();
    const [p1, p2] = await Promise.all([a.issue('u-1'), b.issue('u-1')]);
    const p3 = await a.issue('u-2');
    expect(await b.logoutAll('u-1')).toBe(2);
    for (const pair of [p1!, p2!])
      expect(await codeOf(a.verifyAccess(pair.accessToken))).toBe('SESSION_REVOKED');
    await expect(a.verifyAccess(p3.accessToken)).resolves.toBeDefined();

    expect(await a.ban('u-2')).toBe(1);
    expect(await codeOf(b.verifyAccess(p3.accessToken))).toBe('SUBJECT_BANNED');
    expect(await codeOf(b.issue('u-2'))).toBe('SUBJECT_BANNED');
    expect(await b.isBanned('u-2')).toBe(true);
    await b.unban('u-2');
    await expect(a.issue('u-2')).resolves.toBeDefined();
  });

  it('reuse detection spans instances: a replay on B after the grace kills the session A rotated', async () => {
    const { a, b, clock } = twoInstances();
    const first = await a.issue('u-1');
    const second = await a.refresh(first.refreshToken);
    // Within the grace, B answers the retry with A's successor pair.
    expect(await b.refresh(first.refreshToken)).toEqual(second);
    clock.advance(30_000);
    expect(await codeOf(b.refresh(first.refreshToken))).toBe('REFRESH_TOKEN_REUSED');
    expect(await codeOf(a.verifyAccess(second.accessToken))).toBe('SESSION_REVOKED');
  });

  it('without a grace, concurrent refreshes with one token on two instances: exactly one wins', async () => {
    const { a, b } = twoInstances({}, 0);
    const pair = await a.issue('u-1');
    const results = await Promise.allSettled([
      a.refresh(pair.refreshToken),
      b.refresh(pair.refreshToken),
    ]);
    const codes = results
      .map((r) => (r.status === 'fulfilled' ? 'ok' : (r.reason as AuthError).code))
      .sort();
    expect(codes).toEqual(['REFRESH_TOKEN_REUSED', 'ok']);
    const won = results.find((r) => r.status === 'fulfilled') as PromiseFulfilledResult<TokenPair>;
    expect(await codeOf(b.verifyAccess(won.value.accessToken))).toBe('SESSION_REVOKED');
  });

  it('with a valid-answer cache, a logout elsewhere is seen within validMs (the documented staleness)', async () => {
    const { a, b, clock } = twoInstances({ cache: { validMs: 1_000 } });
    const pair = await a.issue('u-1');
    await expect(b.verifyAccess(pair.accessToken)).resolves.toBeDefined();
    await a.logout(pair.sessionId);
    clock.advance(999);
    await expect(b.verifyAccess(pair.accessToken)).resolves.toBeDefined();
    clock.advance(1);
    expect(await codeOf(b.verifyAccess(pair.accessToken))).toBe('SESSION_REVOKED');
    // B's own logout evicts its cache at once.
    const other = await a.issue('u-1');
    await expect(b.verifyAccess(other.accessToken)).resolves.toBeDefined();
    await b.logout(other.sessionId);
    expect(await codeOf(b.verifyAccess(other.accessToken))).toBe('SESSION_REVOKED');
  });
});

describe('two authorizers sharing a Redis policy store', () => {
  const pair = async () => {
    const prefix = uniquePrefix('jwt-authz');
    const rules = {
      roles: {
        buyer: [{ actions: ['GET', 'POST'], resource: '/orders/**' }],
      },
    };
    const storeA = redisPolicyStore(connect(), { prefix });
    const storeB = redisPolicyStore(connect(), { prefix });
    const a = authorizer({ rules, store: storeA });
    const b = authorizer({ rules, store: storeB });
    closers.push(
      () => a.close(),
      () => b.close(),
      () => storeA.close(),
      () => storeB.close(),
    );
    await Promise.all([a.ready(), b.ready()]);
    return { a, b, prefix };
  };

  it('a grant, a new deny rule and a revocation on one are applied by the other as they happen', async () => {
    const { a, b } = await pair();
    expect(b.can('u-1', 'POST', '/orders/1')).toBe(false);

    await a.grant('u-1', 'buyer');
    await reaches(b, 1);
    expect(b.can('u-1', 'POST', '/orders/1')).toBe(true);

    await a.setRole('buyer', [
      { effect: 'deny', actions: ['POST'], resource: '^/orders/\\d+/refund$', match: 'regex' },
    ]);
    await reaches(b, 2);
    expect(b.can('u-1', 'POST', '/orders/1/refund')).toBe(false);
    expect(b.can('u-1', 'POST', '/orders/1')).toBe(true);

    await b.revoke('u-1', 'buyer');
    await reaches(a, 3);
    expect(a.can('u-1', 'GET', '/orders/1')).toBe(false);
    expect(a.version).toBe(3);
    expect(b.version).toBe(3);
  });

  it('a new authorizer loads the current rules; bad rules are refused before reaching Redis', async () => {
    const { a, prefix } = await pair();
    await a.setRole('ops', [{ resource: '/ops/**' }]);
    await a.grant('u-9', 'ops');
    await expect(a.setRole('ops', [{ resource: '(a*)*', match: 'regex' }])).rejects.toMatchObject({
      code: 'INVALID_RULE',
      reason: 'unsafe',
    });
    expect(a.version).toBe(2);
    const store = redisPolicyStore(connect(), { prefix });
    const late = authorizer({ store });
    closers.push(
      () => late.close(),
      () => store.close(),
    );
    await late.ready();
    expect(late.version).toBe(2);
    expect(late.can('u-9', 'GET', '/ops/panel')).toBe(true);
    expect(late.rolesOf('u-9')).toEqual(['ops']);
  });
});
