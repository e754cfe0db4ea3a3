import { createSecretKey, generateKeyPairSync, randomBytes, webcrypto } from 'node:crypto';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { InvalidOptionsError } from '../../src/core/index.js';
import { type KeySpec, tokenService } from '../../src/jwt/index.js';
import { codeOf, decode, ecKey, edKey, hs256, makeService, pairs, rsaKey, T0 } from './fixtures.js';

const issues = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidOptionsError);
    return (err as InvalidOptionsError).issues;
  }
  throw new Error('expected InvalidOptionsError');
};

describe('keys', () => {
  const hmac = (alg: 'HS256' | 'HS384' | 'HS512', bytes: number): KeySpec => ({
    kid: alg,
    alg,
    key: randomBytes(bytes),
  });

  for (const key of [
    hmac('HS256', 32),
    hmac('HS384', 48),
    hmac('HS512', 64),
    edKey,
    ecKey,
    rsaKey,
  ]) {
    it(`${key.alg}: signs with the first key, verifies, header names kid, alg and typ`, async () => {
      const { tokens } = makeService({ keys: [key] });
      const pair = await tokens.issue('u-1');
      expect(decode(pair.accessToken).header).toEqual({
        alg: key.alg,
        kid: key.kid,
        typ: 'at+jwt',
      });
      expect(decode(pair.refreshToken).header).toEqual({
        alg: key.alg,
        kid: key.kid,
        typ: 'rt+jwt',
      });
      await expect(tokens.verifyAccess(pair.accessToken)).resolves.toMatchObject({ sub: 'u-1' });
    });
  }

  it('accepts key material as bytes, string, KeyObject, JWK, PEM and CryptoKey', async () => {
    const raw = randomBytes(32);
    const jwkSecret = { kty: 'oct', k: raw.toString('base64url') };
    const crypto = await webcrypto.subtle.importKey(
      'raw',
      raw,
      { name: 'HMAC', hash: 'SHA-256' },
      true,
      ['sign'],
    );
    const { privateKey } = pairs.ES256;
    const forms: KeySpec[] = [
      { kid: 'a', alg: 'HS256', key: raw },
      { kid: 'a', alg: 'HS256', key: 'a utf-8 secret that is long enough!!' },
      { kid: 'a', alg: 'HS256', key: createSecretKey(raw) },
      { kid: 'a', alg: 'HS256', key: jwkSecret },
      { kid: 'a', alg: 'HS256', key: crypto as never },
      { kid: 'a', alg: 'ES256', key: privateKey.export({ format: 'jwk' }) },
      {
        kid: 'a',
        alg: 'ES256',
        key: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
      },
    ];
    for (const key of forms) {
      const { tokens } = makeService({ keys: [key] });
      const pair = await tokens.issue('u-1');
      await expect(tokens.verifyAccess(pair.accessToken)).resolves.toBeDefined();
    }
  });

  it('refuses keys that do not fit their algorithm, naming the key', () => {
    const cases: Array<[KeySpec[], string, RegExp]> = [
      [[{ kid: 'a', alg: 'HS256', key: randomBytes(31) }], 'keys.0.key', /at least 32 bytes/],
      [[{ kid: 'a', alg: 'HS512', key: randomBytes(32) }], 'keys.0.key', /at least 64 bytes/],
      [[{ kid: 'a', alg: 'HS256', key: pairs.RS256.privateKey }], 'keys.0.key', /needs a secret/],
      [[{ kid: 'a', alg: 'RS256', key: randomBytes(64) }], 'keys.0.key', /not raw bytes/],
      [
        [{ kid: 'a', alg: 'RS256', key: createSecretKey(randomBytes(64)) }],
        'keys.0.key',
        /not a secret/,
      ],
      [
        [
          {
            kid: 'a',
            alg: 'RS256',
            key: generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey,
          },
        ],
        'keys.0.key',
        /2048 bits/,
      ],
      [
        [
          {
            kid: 'a',
            alg: 'ES256',
            key: generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey,
          },
        ],
        'keys.0.key',
        /P-256/,
      ],
      [[{ kid: 'a', alg: 'EdDSA', key: pairs.ES256.privateKey }], 'keys.0.key', /Ed25519/],
      [[{ kid: 'a', alg: 'ES256', key: pairs.ES256.publicKey }], 'keys.0.key', /first key signs/],
      [[hs256, { ...hs256 }], 'keys.1.kid', /duplicate kid/],
      [
        [{ kid: 'a', alg: 'HS256', key: 'not a pem' as never }, edKey],
        'keys.0.key',
        /at least 32 bytes/,
      ],
      [[{ kid: 'a', alg: 'ES256', key: 'not a pem' }], 'keys.0.key', /./],
      [[{ kid: 'a', alg: 'none' as never, key: randomBytes(32) }], 'keys.0.alg', /./],
      [[{ kid: '', alg: 'HS256', key: randomBytes(32) }], 'keys.0.kid', /./],
      [[{ kid: 'a', alg: 'HS256', key: null as never }], 'keys.0.key', /required/],
      [[], 'keys', /./],
    ];
    for (const [keys, path, message] of cases) {
      const found = issues(() => tokenService({ keys }));
      expect(found, JSON.stringify(path)).toContainEqual(
        expect.objectContaining({ path, message: expect.stringMatching(message) }),
      );
    }
  });

  it('a public key may verify (after the first key): old tokens from another signer', async () => {
    const signer = makeService({ keys: [edKey] }).tokens;
    const verifier = makeService({
      keys: [hs256, { kid: 'ed-1', alg: 'EdDSA', key: pairs.EdDSA.publicKey }],
    }).tokens;
    const pair = await signer.issue('u-1');
    // Sessions live in each service's own memory store here, so only the signature passes.
    expect(await codeOf(verifier.verifyAccess(pair.accessToken))).toBe('SESSION_REVOKED');
  });

  it('key rotation: new key first, old key kept to verify; dropping it retires its tokens', async () => {
    const { tokens: before } = makeService({ keys: [hs256] });
    const next: KeySpec = { kid: 'hs-2', alg: 'HS256', key: randomBytes(32) };
    const store = (await import('../../src/jwt/index.js')).memorySessionStore();
    const old = makeService({ keys: [hs256], sessionStore: store }).tokens;
    const rotated = makeService({ keys: [next, hs256], sessionStore: store }).tokens;
    const retired = makeService({ keys: [next], sessionStore: store }).tokens;

    const oldPair = await old.issue('u-1');
    await expect(rotated.verifyAccess(oldPair.accessToken)).resolves.toBeDefined();
    const newPair = await rotated.refresh(oldPair.refreshToken);
    expect(decode(newPair.accessToken).header.kid).toBe('hs-2');
    await expect(retired.verifyAccess(newPair.accessToken)).resolves.toBeDefined();
    expect(await codeOf(retired.verifyAccess(oldPair.accessToken))).toBe('TOKEN_INVALID');
    expect(await codeOf(before.verifyAccess(newPair.accessToken))).toBe('TOKEN_INVALID');
  });

  it('jwks() lists public keys only, and verifies what the service signed', async () => {
    const { tokens } = makeService({
      keys: [edKey, hs256, ecKey, { kid: 'rsa-old', alg: 'RS256', key: pairs.RS256.publicKey }],
    });
    const jwks = tokens.jwks();
    expect(jwks.keys.map((k) => [k.kid, k.alg, k.use])).toEqual([
      ['ed-1', 'EdDSA', 'sig'],
      ['ec-1', 'ES256', 'sig'],
      ['rsa-old', 'RS256', 'sig'],
    ]);
    for (const key of jwks.keys) {
      expect(key).not.toHaveProperty('d');
      expect(key).not.toHaveProperty('k');
    }
    const pair = await tokens.issue('u-1');
    const { payload } = await jwtVerify(pair.accessToken, createLocalJWKSet(jwks), {
      typ: 'at+jwt',
      currentDate: new Date(T0),
    });
    expect(payload.sub).toBe('u-1');
    expect(makeService({ keys: [hs256] }).tokens.jwks()).toEqual({ keys: [] });
  });
});
