import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { InvalidOptionsError, manualClock } from '../../src/core/index.js';
import { oauthState } from '../../src/jwt/index.js';
import { codeOf, decode, hs256, T0 } from './fixtures.js';

describe('oauthState', () => {
  const make = (options = {}) => {
    const clock = manualClock(T0);
    return { states: oauthState({ keys: [hs256], clock, ...options }), clock };
  };

  it('binds a random state to a signed cookie and gives back its data', async () => {
    const { states } = make();
    const created = await states.create({ returnTo: '/account' });
    expect(created.state).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(created.expiresAt).toBe(T0 + 600_000);
    expect(decode(created.cookie).header.typ).toBe('oauth-state+jwt');
    // The cookie holds a hash of the state, not the state.
    expect(created.cookie).not.toContain(created.state);
    await expect(states.verify(created.state, created.cookie)).resolves.toEqual({
      returnTo: '/account',
    });
    const other = await states.create();
    expect(other.state).not.toBe(created.state);
  });

  it('a state from another browser (another cookie) is OAUTH_STATE_MISMATCH', async () => {
    const { states } = make();
    const victim = await states.create();
    const attacker = await states.create();
    expect(await codeOf(states.verify(attacker.state, victim.cookie))).toBe('OAUTH_STATE_MISMATCH');
    expect(await codeOf(states.verify(`${victim.state}x`, victim.cookie))).toBe(
      'OAUTH_STATE_MISMATCH',
    );
  });

  it('missing state or cookie is TOKEN_MISSING; expired TOKEN_EXPIRED; forged TOKEN_INVALID', async () => {
    const { states, clock } = make({ ttlMs: 60_000 });
    const created = await states.create();
    expect(await codeOf(states.verify(undefined, created.cookie))).toBe('TOKEN_MISSING');
    expect(await codeOf(states.verify('', created.cookie))).toBe('TOKEN_MISSING');
    expect(await codeOf(states.verify(created.state, undefined))).toBe('TOKEN_MISSING');
    const foreign = oauthState({ keys: [{ ...hs256, key: randomBytes(32) }], clock });
    const forged = await foreign.create();
    expect(await codeOf(states.verify(forged.state, forged.cookie))).toBe('TOKEN_INVALID');
    clock.advance(60_000);
    expect(await codeOf(states.verify(created.state, created.cookie))).toBe('TOKEN_EXPIRED');
  });

  it('builds Set-Cookie headers: HttpOnly, SameSite=Lax, Secure, Max-Age, Path', async () => {
    const { states } = make({ cookieName: 'wx_state', cookiePath: '/oauth2/wechat/callback' });
    const { setCookie, cookie } = await states.create();
    expect(setCookie).toBe(
      `wx_state=${cookie}; Max-Age=600; Path=/oauth2/wechat/callback; HttpOnly; SameSite=Lax; Secure`,
    );
    expect(states.clearCookie).toBe(
      'wx_state=; Max-Age=0; Path=/oauth2/wechat/callback; HttpOnly; SameSite=Lax; Secure',
    );
    const local = make({ secureCookie: false }).states;
    expect((await local.create()).setCookie).not.toContain('Secure');
  });

  it('refuses bad options', () => {
    for (const [options, path] of [
      [{ ttlMs: 5 }, 'ttlMs'],
      [{ cookieName: 'a b' }, 'cookieName'],
      [{ cookiePath: 'relative' }, 'cookiePath'],
      [{ cookiePath: '/a;Domain=evil' }, 'cookiePath'],
      [{ keys: [] }, 'keys'],
    ] as const) {
      try {
        oauthState({ keys: [hs256], ...(options as object) });
        expect.unreachable();
      } catch (err) {
        expect(err).toBeInstanceOf(InvalidOptionsError);
        expect((err as InvalidOptionsError).issues.map((i) => i.path)).toContain(path);
      }
    }
  });
});
