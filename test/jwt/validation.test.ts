import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import {
  authorizer,
  ClaimsTooLargeError,
  memorySessionStore,
  oauthState,
  redisPolicyStore,
  redisSessionStore,
  tokenService,
} from '../../src/jwt/index.js';
import { sharedRedisUrl } from '../harness/index.js';
import { codeOf, hs256, makeService, rejection } from './fixtures.js';

const misspelt = (make: () => unknown, field: string) => {
  let error: unknown;
  try {
    make();
  } catch (err) {
    error = err;
  }
  expect(error, field).toMatchObject({ code: 'INVALID_OPTIONS' });
  expect((error as Error).message, field).toContain(field);
};

describe('strict options (regression: issue 9 defect 7)', () => {
  it('a misspelt option of every jwt factory throws INVALID_OPTIONS naming it', () => {
    const lazy = new Redis(sharedRedisUrl(), { lazyConnect: true });
    misspelt(() => tokenService({ keys: [hs256], acessTtl: 1000 } as never), 'acessTtl');
    misspelt(() => tokenService({ keys: [hs256], accessTtl: 60_000 } as never), 'accessTtl');
    misspelt(() => redisSessionStore(lazy, { cache: { validMS: 5 } } as never), 'validMS');
    misspelt(() => redisSessionStore(lazy, { timeout: 5 } as never), 'timeout');
    misspelt(() => redisPolicyStore(lazy, { prefx: 'a:' } as never), 'prefx');
    misspelt(() => authorizer({ resyncInterval: 5 } as never), 'resyncInterval');
    misspelt(() => authorizer({ rules: { role: {} } } as never), 'role');
    misspelt(() => oauthState({ keys: [hs256], ttl: 60_000 } as never), 'ttl');
    misspelt(() => tokenService({ keys: [{ ...hs256, kdi: 'x' }] } as never), 'kdi');
    lazy.disconnect();
  });

  it('durations are bounded: non-integers, Infinity and absurd values are refused', () => {
    for (const accessTtlMs of [1500.5, Number.POSITIVE_INFINITY, Number.NaN, 1e15]) {
      misspelt(() => tokenService({ keys: [hs256], accessTtlMs }), 'accessTtlMs');
    }
    misspelt(() => tokenService({ keys: [hs256], reuseGraceMs: -1 }), 'reuseGraceMs');
  });

  it('an HMAC key given as asymmetric key material (PEM, DER, OpenSSH) is refused', () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const ed = generateKeyPairSync('ed25519');
    const materials = [
      publicKey.export({ type: 'spki', format: 'pem' }),
      privateKey.export({ type: 'pkcs8', format: 'pem' }),
      publicKey.export({ type: 'pkcs1', format: 'pem' }),
      Buffer.from(publicKey.export({ type: 'spki', format: 'pem' }) as string),
      publicKey.export({ type: 'spki', format: 'der' }),
      privateKey.export({ type: 'pkcs8', format: 'der' }),
      ed.publicKey.export({ type: 'spki', format: 'der' }),
      `ssh-ed25519 ${randomBytes(51).toString('base64')} me@host`,
      publicKey,
      publicKey.export({ format: 'jwk' }),
    ];
    for (const [i, key] of materials.entries()) {
      for (const alg of ['HS256', 'HS512'] as const) {
        let error: unknown;
        try {
          tokenService({ keys: [{ kid: 'k', alg, key: key as never }] });
        } catch (err) {
          error = err;
        }
        expect(error, `material ${i} ${alg}`).toMatchObject({ code: 'INVALID_OPTIONS' });
      }
    }
    // Random secrets still work, as bytes or as a long string.
    expect(() =>
      tokenService({ keys: [{ kid: 'k', alg: 'HS256', key: randomBytes(64) }] }),
    ).not.toThrow();
  });
});

describe('bad runtime input is a GirderError with no partial state (regression: issue 9 defect 8)', () => {
  it('null or non-object options are INVALID_ARGUMENT', async () => {
    const { tokens } = makeService();
    const pair = await tokens.issue('u-1');
    expect(await codeOf(tokens.issue('u-1', null as never))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(tokens.issue('u-1', 5 as never))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(tokens.refresh(pair.refreshToken, null as never))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(tokens.verifyAccess(pair.accessToken, null as never))).toBe(
      'INVALID_ARGUMENT',
    );
    expect(await codeOf(tokens.ban('u-1', null as never))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(tokens.issue('u-1', { userAgent: 5 as never }))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(tokens.issue('u-1', { signal: {} as never }))).toBe('INVALID_ARGUMENT');
    // The refresh token was not burnt by the refused call.
    await expect(tokens.refresh(pair.refreshToken)).resolves.toBeDefined();
  });

  it('claims holding a BigInt or a cycle are refused before any session exists', async () => {
    const store = memorySessionStore();
    const { tokens } = makeService({ sessionStore: store });
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    for (const claims of [{ n: 10n }, cyclic, new Date() as never, [1] as never]) {
      expect(await codeOf(tokens.issue('u-1', { claims }))).toBe('INVALID_ARGUMENT');
    }
    expect(await tokens.logoutAll('u-1')).toBe(0);
    const pair = await tokens.issue('u-1');
    expect(await codeOf(tokens.refresh(pair.refreshToken, { claims: { n: 1n } }))).toBe(
      'INVALID_ARGUMENT',
    );
    await expect(tokens.refresh(pair.refreshToken)).resolves.toBeDefined();
  });

  it('issue refuses claims that make a token longer than verifyAccess accepts; the limit is the same both ways', async () => {
    const store = memorySessionStore();
    const { tokens } = makeService({ sessionStore: store });
    const err = await rejection(tokens.issue('u-1', { claims: { blob: 'x'.repeat(9000) } }));
    expect(err).toBeInstanceOf(ClaimsTooLargeError);
    expect(err).toMatchObject({ code: 'INVALID_ARGUMENT', limit: 8192 });
    expect(await tokens.logoutAll('u-1')).toBe(0);
    // Around the limit: either refused at issue, or accepted by verifyAccess and refresh.
    let accepted = 0;
    for (let size = 5400; size <= 6400; size += 50) {
      const issued = await tokens
        .issue('u-2', { claims: { blob: 'y'.repeat(size) } })
        .catch((e: unknown) => e);
      if (issued instanceof ClaimsTooLargeError) continue;
      const pair = issued as Awaited<ReturnType<typeof tokens.issue>>;
      expect(pair.accessToken.length).toBeLessThanOrEqual(8192);
      await expect(tokens.verifyAccess(pair.accessToken)).resolves.toBeDefined();
      await expect(tokens.refresh(pair.refreshToken)).resolves.toBeDefined();
      accepted++;
    }
    expect(accepted).toBeGreaterThan(0);
    expect(accepted).toBeLessThan(21);
  });

  it('oauthState.create and the authorizer refuse bad input with INVALID_ARGUMENT', async () => {
    const states = oauthState({ keys: [hs256] });
    for (const data of [null, 5, { n: 1n }, [1]]) {
      expect(await codeOf(states.create(data as never))).toBe('INVALID_ARGUMENT');
    }
    const authz = authorizer({ rules: { roles: { a: [{ resource: '/x' }] } } });
    expect(() => authz.can(null as never, 'GET', '/x')).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    expect(await codeOf(authz.authorize('u', null as never, '/x'))).toBe('INVALID_ARGUMENT');
  });
});

describe('documented behaviours (issue 18)', () => {
  it('the OAuth state helper is stateless: the same (state, cookie) pair verifies again', async () => {
    const states = oauthState({ keys: [hs256] });
    const { state, cookie } = await states.create({ returnTo: '/a' });
    await expect(states.verify(state, cookie)).resolves.toEqual({ returnTo: '/a' });
    await expect(states.verify(state, cookie)).resolves.toEqual({ returnTo: '/a' });
  });
});
