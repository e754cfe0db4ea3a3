import { describe, expect, it, vi } from 'vitest';
import { InvalidOptionsError } from '../../src/core/index.js';
import {
  memorySessionStore,
  SessionStoreUnavailableError,
  type TokenEvents,
  tokenService,
} from '../../src/jwt/index.js';
import { brokenStore, codeOf, decode, hs256, makeService, rejection, T0 } from './fixtures.js';

const MIN = 60_000;
const DAY = 24 * 60 * MIN;

describe('tokenService', () => {
  it('issues a pair sharing one session id, with documented default lifetimes', async () => {
    const { tokens } = makeService();
    const pair = await tokens.issue('u-1', { claims: { role: 'buyer' } });
    const access = decode(pair.accessToken).payload;
    const refresh = decode(pair.refreshToken).payload;
    expect(pair.sessionId).toMatch(/^[A-Za-z0-9_-]{30}$/);
    expect(access).toMatchObject({ sub: 'u-1', ssid: pair.sessionId, role: 'buyer' });
    expect(refresh).toMatchObject({ sub: 'u-1', ssid: pair.sessionId, role: 'buyer' });
    expect(access.jti).not.toBe(refresh.jti);
    expect(pair.expiresAt).toBe(T0 + 30 * MIN);
    expect(pair.refreshExpiresAt).toBe(T0 + 7 * DAY);
    expect(access.exp).toBe((T0 + 30 * MIN) / 1000);
    expect(refresh.sxp).toBe((T0 + 30 * DAY) / 1000);
    expect(access).not.toHaveProperty('uah');
  });

  it('verifyAccess resolves the claims, custom ones included', async () => {
    const { tokens } = makeService({ issuer: 'shop', audience: ['shop-api', 'admin-api'] });
    const pair = await tokens.issue('u-1', { claims: { role: 'buyer', tier: 2 } });
    await expect(tokens.verifyAccess(pair.accessToken)).resolves.toMatchObject({
      sub: 'u-1',
      ssid: pair.sessionId,
      role: 'buyer',
      tier: 2,
      iss: 'shop',
      aud: ['shop-api', 'admin-api'],
    });
  });

  it('refresh rotates: same session, new tokens, claims carried over or replaced', async () => {
    const { tokens, clock } = makeService();
    const first = await tokens.issue('u-1', { claims: { role: 'buyer' } });
    clock.advance(40 * MIN);
    expect(await codeOf(tokens.verifyAccess(first.accessToken))).toBe('TOKEN_EXPIRED');
    const second = await tokens.refresh(first.refreshToken);
    expect(second.sessionId).toBe(first.sessionId);
    expect(second.refreshToken).not.toBe(first.refreshToken);
    await expect(tokens.verifyAccess(second.accessToken)).resolves.toMatchObject({ role: 'buyer' });
    const third = await tokens.refresh(second.refreshToken, { claims: { role: 'seller' } });
    await expect(tokens.verifyAccess(third.accessToken)).resolves.toMatchObject({ role: 'seller' });
  });

  it('rotation slides the refresh lifetime but never past maxSessionAgeMs', async () => {
    const { tokens, clock } = makeService({ refreshTtlMs: 2 * DAY, maxSessionAgeMs: 3 * DAY });
    let pair = await tokens.issue('u-1');
    clock.advance(DAY + 12 * 60 * MIN);
    pair = await tokens.refresh(pair.refreshToken);
    expect(pair.refreshExpiresAt).toBe(T0 + 3 * DAY); // capped, not now + 2 days
    clock.advance(DAY + 12 * 60 * MIN);
    expect(await codeOf(tokens.refresh(pair.refreshToken))).toBe('TOKEN_EXPIRED');
  });

  it('an expired refresh token is TOKEN_EXPIRED and the session ends with it', async () => {
    const { tokens, clock } = makeService({ refreshTtlMs: DAY, maxSessionAgeMs: DAY });
    const pair = await tokens.issue('u-1');
    clock.advance(DAY);
    expect(await codeOf(tokens.refresh(pair.refreshToken))).toBe('TOKEN_EXPIRED');
  });

  it('logout ends one session; logoutAll every session of the subject only', async () => {
    const { tokens } = makeService();
    const a = await tokens.issue('u-1');
    const b = await tokens.issue('u-1');
    const c = await tokens.issue('u-1');
    const other = await tokens.issue('u-2');
    expect(await tokens.logout(a.sessionId)).toBe(true);
    expect(await tokens.logout(a.sessionId)).toBe(false);
    expect(await codeOf(tokens.verifyAccess(a.accessToken))).toBe('SESSION_REVOKED');
    await expect(tokens.verifyAccess(b.accessToken)).resolves.toBeDefined();
    expect(await tokens.logoutAll('u-1')).toBe(2);
    for (const pair of [b, c]) {
      expect(await codeOf(tokens.verifyAccess(pair.accessToken))).toBe('SESSION_REVOKED');
    }
    await expect(tokens.verifyAccess(other.accessToken)).resolves.toBeDefined();
    // A new login after logoutAll works.
    const fresh = await tokens.issue('u-1');
    await expect(tokens.verifyAccess(fresh.accessToken)).resolves.toBeDefined();
  });

  it('ban with a ttl expires; unban lifts it; sessions ended by the ban stay ended', async () => {
    const { tokens, clock } = makeService();
    const pair = await tokens.issue('u-1');
    await tokens.ban('u-1', { ttlMs: 10 * MIN });
    expect(await tokens.isBanned('u-1')).toBe(true);
    clock.advance(10 * MIN);
    expect(await tokens.isBanned('u-1')).toBe(false);
    await expect(tokens.issue('u-1')).resolves.toBeDefined();
    expect(await codeOf(tokens.verifyAccess(pair.accessToken))).toBe('SUBJECT_BANNED');

    await tokens.ban('u-1');
    expect(await tokens.unban('u-1')).toBe(true);
    expect(await tokens.unban('u-1')).toBe(false);
    await expect(tokens.issue('u-1')).resolves.toBeDefined();
  });

  it('bad runtime arguments are INVALID_ARGUMENT', async () => {
    const { tokens } = makeService();
    expect(await codeOf(tokens.issue(''))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(tokens.issue('x'.repeat(1025)))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(tokens.issue(42 as never))).toBe('INVALID_ARGUMENT');
    for (const claim of ['sub', 'exp', 'ssid', 'iss', 'aud', 'jti', 'nbf', 'iat', 'uah', 'sxp']) {
      expect(await codeOf(tokens.issue('u-1', { claims: { [claim]: 'x' } }))).toBe(
        'INVALID_ARGUMENT',
      );
    }
    expect(await codeOf(tokens.issue('u-1', { claims: [] as never }))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(tokens.logout('not-a-session'))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(tokens.logoutAll(''))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(tokens.ban('u-1', { ttlMs: -5 }))).toBe('INVALID_ARGUMENT');
    const pair = await tokens.issue('u-1');
    expect(await codeOf(tokens.refresh(pair.refreshToken, { claims: { exp: 1 } }))).toBe(
      'INVALID_ARGUMENT',
    );
  });

  it('bad options are INVALID_OPTIONS naming each field', () => {
    const bad = [
      [{ accessTtlMs: 10 }, 'accessTtlMs'],
      [{ accessTtlMs: 10 * MIN, refreshTtlMs: 5 * MIN }, 'refreshTtlMs'],
      [{ refreshTtlMs: 40 * DAY }, 'maxSessionAgeMs'],
      [{ clockToleranceMs: -1 }, 'clockToleranceMs'],
      [{ maxTokenLength: 10 }, 'maxTokenLength'],
      [{ onStoreError: 'maybe' }, 'onStoreError'],
      [{ sessionStore: {} }, 'sessionStore'],
      [{ clock: { now: 5 } }, 'clock'],
      [{ audience: [] }, 'audience'],
      [{ issuer: '' }, 'issuer'],
    ] as const;
    for (const [options, path] of bad) {
      try {
        tokenService({ keys: [hs256], ...(options as object) });
        expect.unreachable(path);
      } catch (err) {
        expect(err).toBeInstanceOf(InvalidOptionsError);
        expect((err as InvalidOptionsError).issues.map((i) => i.path)).toContain(path);
      }
    }
  });

  it('store down: verifyAccess fails closed by default (SESSION_STORE_UNAVAILABLE, 503)', async () => {
    const store = memorySessionStore();
    const healthy = makeService({ sessionStore: store }).tokens;
    const pair = await healthy.issue('u-1');
    const { tokens } = makeService({ sessionStore: brokenStore() });
    const events: TokenEvents['storeError'][] = [];
    tokens.events.on('storeError', (e) => events.push(e));
    const err = await rejection(tokens.verifyAccess(pair.accessToken));
    expect(err).toBeInstanceOf(SessionStoreUnavailableError);
    expect(err.code).toBe('SESSION_STORE_UNAVAILABLE');
    expect((err as SessionStoreUnavailableError).status).toBe(503);
    expect((err as SessionStoreUnavailableError).publicMessage).toBe('Service Unavailable');
    expect(events).toEqual([expect.objectContaining({ operation: 'check', failedOpen: false })]);
    // Bad tokens are still refused for what they are, without asking the store.
    expect(await codeOf(tokens.verifyAccess('garbage'))).toBe('TOKEN_INVALID');
  });

  it("store down with onStoreError 'allow': verifyAccess fails open; issue, refresh, logout still fail", async () => {
    const healthy = makeService().tokens;
    const pair = await healthy.issue('u-1');
    const { tokens } = makeService({ sessionStore: brokenStore(), onStoreError: 'allow' });
    const onError = vi.fn();
    tokens.events.on('storeError', onError);
    await expect(tokens.verifyAccess(pair.accessToken)).resolves.toMatchObject({ sub: 'u-1' });
    expect(onError).toHaveBeenCalledWith(expect.objectContaining({ failedOpen: true }));
    expect(await codeOf(tokens.verifyAccess(pair.refreshToken))).toBe('TOKEN_TYPE');
    expect(await codeOf(tokens.issue('u-1'))).toBe('SESSION_STORE_UNAVAILABLE');
    expect(await codeOf(tokens.refresh(pair.refreshToken))).toBe('SESSION_STORE_UNAVAILABLE');
    expect(await codeOf(tokens.logout(pair.sessionId))).toBe('SESSION_STORE_UNAVAILABLE');
    expect(await codeOf(tokens.logoutAll('u-1'))).toBe('SESSION_STORE_UNAVAILABLE');
    expect(await codeOf(tokens.ban('u-1'))).toBe('SESSION_STORE_UNAVAILABLE');
  });

  it('a caller abort stops before the store is asked (ABORTED)', async () => {
    const { tokens } = makeService();
    const pair = await tokens.issue('u-1');
    const signal = AbortSignal.abort();
    expect(await codeOf(tokens.verifyAccess(pair.accessToken, { signal }))).toBe('ABORTED');
    expect(await codeOf(tokens.issue('u-1', { signal }))).toBe('ABORTED');
    expect(await codeOf(tokens.refresh(pair.refreshToken, { signal }))).toBe('ABORTED');
    await expect(tokens.refresh(pair.refreshToken)).resolves.toBeDefined();
  });

  it('emits typed events', async () => {
    const { tokens } = makeService({ reuseGraceMs: 0 });
    const seen: string[] = [];
    for (const name of [
      'issued',
      'refreshed',
      'rejected',
      'reuseDetected',
      'loggedOut',
      'loggedOutAll',
      'banned',
      'unbanned',
    ] as const) {
      tokens.events.on(name, (payload) => seen.push(`${name}:${JSON.stringify(payload)}`));
    }
    const first = await tokens.issue('u-1');
    await tokens.refresh(first.refreshToken);
    await tokens.refresh(first.refreshToken).catch(() => {});
    await tokens.logout((await tokens.issue('u-1')).sessionId);
    await tokens.logoutAll('u-1');
    await tokens.ban('u-1');
    await tokens.unban('u-1');
    const sid = first.sessionId;
    expect(seen).toEqual([
      `issued:{"subject":"u-1","sessionId":"${sid}"}`,
      `refreshed:{"subject":"u-1","sessionId":"${sid}"}`,
      `reuseDetected:{"subject":"u-1","sessionId":"${sid}"}`,
      'rejected:{"operation":"refresh","code":"REFRESH_TOKEN_REUSED"}',
      expect.stringMatching(/^issued:/),
      expect.stringMatching(/^loggedOut:/),
      'loggedOutAll:{"subject":"u-1","sessions":0}',
      'banned:{"subject":"u-1","sessions":0}',
      'unbanned:{"subject":"u-1"}',
    ]);
  });

  it('the memory store forgets expired sessions', async () => {
    const { tokens, clock } = makeService({ refreshTtlMs: DAY, maxSessionAgeMs: DAY });
    const pairs = [];
    for (let i = 0; i < 1100; i++) pairs.push(await tokens.issue(`u-${i}`));
    clock.advance(DAY);
    // Past their lifetime they are gone ('missing' reads as revoked), and new ones work.
    const next = await tokens.issue('u-new');
    await expect(tokens.verifyAccess(next.accessToken)).resolves.toBeDefined();
    expect(await tokens.logout(pairs[0]!.sessionId)).toBe(false);
  });
});
