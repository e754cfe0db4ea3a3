import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AuthError, oauthState, type TokenPair } from '../../src/jwt/index.js';
import {
  codeOf,
  decode,
  ecKey,
  edKey,
  hmacJwt,
  hs256,
  makeService,
  pairs,
  rejection,
  rsaKey,
  secret,
  withHeader,
  withPayload,
} from './fixtures.js';

/** A valid access-token payload for `pair`, to forge variations of. */
const payloadOf = (pair: TokenPair) => decode(pair.accessToken).payload;

describe('attack suite: every forged or misused token is refused with the exact code', () => {
  it('alg none: refused before any key is looked at (TOKEN_ALGORITHM)', async () => {
    const { tokens } = makeService();
    const pair = await tokens.issue('u-1');
    const header = { alg: 'none', kid: 'hs-1', typ: 'at+jwt' };
    const unsigned = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${
      decode(pair.accessToken).parts[1]
    }.`;
    expect(await codeOf(tokens.verifyAccess(unsigned))).toBe('TOKEN_ALGORITHM');
    expect(await codeOf(tokens.verifyAccess(withHeader(pair.accessToken, header)))).toBe(
      'TOKEN_ALGORITHM',
    );
    for (const alg of ['None', 'NONE', 'nOnE']) {
      expect(
        await codeOf(tokens.verifyAccess(withHeader(pair.accessToken, { ...header, alg }))),
      ).toBe('TOKEN_ALGORITHM');
    }
  });

  for (const key of [rsaKey, ecKey, edKey]) {
    it(`HS256 signed with the ${key.alg} public key (algorithm confusion) is TOKEN_ALGORITHM`, async () => {
      // The service also has an HMAC key, so HS256 is an accepted algorithm at all:
      // only the per-key pin stops the confusion.
      const { tokens } = makeService({ keys: [key, hs256] });
      const pair = await tokens.issue('u-1');
      const publicKey = pairs[key.alg as keyof typeof pairs].publicKey;
      const forged = { ...payloadOf(pair), sub: 'admin' };
      const asPem = publicKey.export({ type: 'spki', format: 'pem' }) as string;
      const asDer = publicKey.export({ type: 'spki', format: 'der' });
      const asJwk = JSON.stringify(publicKey.export({ format: 'jwk' }));
      for (const material of [asPem, asDer, asJwk]) {
        const token = hmacJwt({ alg: 'HS256', kid: key.kid, typ: 'at+jwt' }, forged, material);
        expect(await codeOf(tokens.verifyAccess(token))).toBe('TOKEN_ALGORITHM');
      }
    });
  }

  it('HS256 confusion against a ring with no HMAC key at all is TOKEN_ALGORITHM', async () => {
    const { tokens } = makeService({ keys: [rsaKey] });
    const pair = await tokens.issue('u-1');
    const pem = pairs.RS256.publicKey.export({ type: 'spki', format: 'pem' }) as string;
    const token = hmacJwt({ alg: 'HS256', kid: 'rsa-1', typ: 'at+jwt' }, payloadOf(pair), pem);
    expect(await codeOf(tokens.verifyAccess(token))).toBe('TOKEN_ALGORITHM');
  });

  it('a key claiming another algorithm family than its own is TOKEN_ALGORITHM', async () => {
    const { tokens } = makeService({ keys: [ecKey, rsaKey] });
    const pair = await tokens.issue('u-1');
    const relabelled = withHeader(pair.accessToken, { alg: 'RS256', kid: 'ec-1', typ: 'at+jwt' });
    expect(await codeOf(tokens.verifyAccess(relabelled))).toBe('TOKEN_ALGORITHM');
  });

  it('tampered payload is TOKEN_INVALID', async () => {
    const { tokens } = makeService();
    const pair = await tokens.issue('u-1', { claims: { role: 'buyer' } });
    const tampered = withPayload(pair.accessToken, { ...payloadOf(pair), role: 'admin' });
    expect(await codeOf(tokens.verifyAccess(tampered))).toBe('TOKEN_INVALID');
    const extended = withPayload(pair.accessToken, { ...payloadOf(pair), exp: 9_999_999_999 });
    expect(await codeOf(tokens.verifyAccess(extended))).toBe('TOKEN_INVALID');
  });

  it('tampered header (kid swapped to another key of the ring) is TOKEN_INVALID', async () => {
    const other = { kid: 'hs-2', alg: 'HS256' as const, key: randomBytes(32) };
    const { tokens } = makeService({ keys: [hs256, other] });
    const pair = await tokens.issue('u-1');
    const swapped = withHeader(pair.accessToken, { alg: 'HS256', kid: 'hs-2', typ: 'at+jwt' });
    expect(await codeOf(tokens.verifyAccess(swapped))).toBe('TOKEN_INVALID');
  });

  it('a token signed with the wrong key (same kid) is TOKEN_INVALID', async () => {
    const { tokens } = makeService();
    const pair = await tokens.issue('u-1');
    const forged = hmacJwt(
      { alg: 'HS256', kid: 'hs-1', typ: 'at+jwt' },
      payloadOf(pair),
      randomBytes(32),
    );
    expect(await codeOf(tokens.verifyAccess(forged))).toBe('TOKEN_INVALID');
  });

  it('unknown or missing kid is TOKEN_INVALID', async () => {
    const { tokens } = makeService();
    const pair = await tokens.issue('u-1');
    const unknown = hmacJwt({ alg: 'HS256', kid: 'nope', typ: 'at+jwt' }, payloadOf(pair), secret);
    const missing = hmacJwt({ alg: 'HS256', typ: 'at+jwt' }, payloadOf(pair), secret);
    expect(await codeOf(tokens.verifyAccess(unknown))).toBe('TOKEN_INVALID');
    expect(await codeOf(tokens.verifyAccess(missing))).toBe('TOKEN_INVALID');
  });

  it('an embedded jwk / jku header is ignored: the attacker key never verifies (TOKEN_INVALID)', async () => {
    const { tokens } = makeService();
    const pair = await tokens.issue('u-1');
    const attackerKey = randomBytes(32);
    const header = {
      alg: 'HS256',
      kid: 'hs-1',
      typ: 'at+jwt',
      jwk: { kty: 'oct', k: attackerKey.toString('base64url') },
      jku: 'https://attacker.example/jwks.json',
    };
    const token = hmacJwt(header, payloadOf(pair), attackerKey);
    expect(await codeOf(tokens.verifyAccess(token))).toBe('TOKEN_INVALID');
  });

  it('a crit header girder does not understand is TOKEN_INVALID', async () => {
    const { tokens } = makeService();
    const pair = await tokens.issue('u-1');
    const token = hmacJwt(
      { alg: 'HS256', kid: 'hs-1', typ: 'at+jwt', crit: ['x-must-check'], 'x-must-check': 1 },
      payloadOf(pair),
      secret,
    );
    expect(await codeOf(tokens.verifyAccess(token))).toBe('TOKEN_INVALID');
  });

  it('expired access token is TOKEN_EXPIRED, at the exact second of exp too', async () => {
    const { tokens, clock } = makeService({ accessTtlMs: 60_000 });
    const pair = await tokens.issue('u-1');
    clock.advance(59_999);
    await expect(tokens.verifyAccess(pair.accessToken)).resolves.toMatchObject({ sub: 'u-1' });
    clock.advance(1);
    expect(await codeOf(tokens.verifyAccess(pair.accessToken))).toBe('TOKEN_EXPIRED');
  });

  it('clockToleranceMs accepts a just-expired token and no more', async () => {
    const { tokens, clock } = makeService({ accessTtlMs: 60_000, clockToleranceMs: 5_000 });
    const pair = await tokens.issue('u-1');
    clock.advance(64_000);
    await expect(tokens.verifyAccess(pair.accessToken)).resolves.toBeDefined();
    clock.advance(1_000);
    expect(await codeOf(tokens.verifyAccess(pair.accessToken))).toBe('TOKEN_EXPIRED');
  });

  it('a future nbf is TOKEN_NOT_YET_VALID', async () => {
    const { tokens, clock } = makeService();
    const pair = await tokens.issue('u-1');
    const nbf = Math.floor(clock.now() / 1000) + 60;
    const token = hmacJwt(
      { alg: 'HS256', kid: 'hs-1', typ: 'at+jwt' },
      { ...payloadOf(pair), nbf },
      secret,
    );
    expect(await codeOf(tokens.verifyAccess(token))).toBe('TOKEN_NOT_YET_VALID');
    clock.advance(60_000);
    await expect(tokens.verifyAccess(token)).resolves.toMatchObject({ nbf });
  });

  for (const claim of ['sub', 'ssid', 'jti', 'exp', 'iat']) {
    it(`a validly signed token without ${claim} is TOKEN_CLAIM_INVALID naming it`, async () => {
      const { tokens } = makeService();
      const pair = await tokens.issue('u-1');
      const { [claim]: _dropped, ...rest } = payloadOf(pair);
      const token = hmacJwt({ alg: 'HS256', kid: 'hs-1', typ: 'at+jwt' }, rest, secret);
      const err = await rejection(tokens.verifyAccess(token));
      expect(err.code).toBe('TOKEN_CLAIM_INVALID');
      expect((err as unknown as { claim: string }).claim).toBe(claim);
    });
  }

  it('claims of the wrong type are TOKEN_CLAIM_INVALID', async () => {
    const { tokens } = makeService();
    const pair = await tokens.issue('u-1');
    const sign = (patch: Record<string, unknown>) =>
      hmacJwt(
        { alg: 'HS256', kid: 'hs-1', typ: 'at+jwt' },
        { ...payloadOf(pair), ...patch },
        secret,
      );
    for (const patch of [
      { sub: 42 },
      { sub: '' },
      { ssid: 'short' },
      { jti: 7 },
      { exp: '9999999999' },
    ]) {
      expect(await codeOf(tokens.verifyAccess(sign(patch)))).toBe('TOKEN_CLAIM_INVALID');
    }
  });

  it('a token of another issuer or audience is TOKEN_CLAIM_INVALID', async () => {
    const { tokens } = makeService({ issuer: 'shop', audience: 'shop-api' });
    const other = makeService({ issuer: 'blog', audience: 'shop-api' }).tokens;
    const pair = await tokens.issue('u-1');
    const otherPair = await other.issue('u-1');
    const err = await rejection(tokens.verifyAccess(otherPair.accessToken));
    expect(err.code).toBe('TOKEN_CLAIM_INVALID');
    const noAud = withPayload(pair.accessToken, { ...payloadOf(pair), aud: 'elsewhere' });
    // (re-signed so only the claim is wrong)
    const resigned = hmacJwt(
      { alg: 'HS256', kid: 'hs-1', typ: 'at+jwt' },
      decode(noAud).payload,
      secret,
    );
    expect(await codeOf(tokens.verifyAccess(resigned))).toBe('TOKEN_CLAIM_INVALID');
  });

  it('token-type swap: refresh as access, access as refresh, untyped, OAuth state: TOKEN_TYPE', async () => {
    const { tokens, clock } = makeService();
    const pair = await tokens.issue('u-1');
    expect(await codeOf(tokens.verifyAccess(pair.refreshToken))).toBe('TOKEN_TYPE');
    expect(await codeOf(tokens.refresh(pair.accessToken))).toBe('TOKEN_TYPE');
    const untyped = hmacJwt({ alg: 'HS256', kid: 'hs-1' }, payloadOf(pair), secret);
    expect(await codeOf(tokens.verifyAccess(untyped))).toBe('TOKEN_TYPE');
    const states = oauthState({ keys: [hs256], clock });
    const { cookie } = await states.create();
    expect(await codeOf(tokens.verifyAccess(cookie))).toBe('TOKEN_TYPE');
    expect(await codeOf(states.verify('x', pair.accessToken))).toBe('TOKEN_TYPE');
    // The type swap did not burn the refresh token.
    await expect(tokens.refresh(pair.refreshToken)).resolves.toBeDefined();
  });

  it('revoked session: SESSION_REVOKED for its access and refresh tokens', async () => {
    const { tokens } = makeService();
    const pair = await tokens.issue('u-1');
    await tokens.logout(pair.sessionId);
    expect(await codeOf(tokens.verifyAccess(pair.accessToken))).toBe('SESSION_REVOKED');
    expect(await codeOf(tokens.refresh(pair.refreshToken))).toBe('SESSION_REVOKED');
  });

  it('replayed rotated refresh token after the grace: REFRESH_TOKEN_REUSED, and the whole session dies', async () => {
    const { tokens, clock } = makeService();
    const first = await tokens.issue('u-1');
    const second = await tokens.refresh(first.refreshToken);
    await expect(tokens.verifyAccess(second.accessToken)).resolves.toBeDefined();
    clock.advance(30_000); // reuseGraceMs (default 30 s) is over
    await expect(tokens.verifyAccess(second.accessToken)).resolves.toBeDefined();
    expect(await codeOf(tokens.refresh(first.refreshToken))).toBe('REFRESH_TOKEN_REUSED');
    expect(await codeOf(tokens.verifyAccess(second.accessToken))).toBe('SESSION_REVOKED');
    expect(await codeOf(tokens.verifyAccess(first.accessToken))).toBe('SESSION_REVOKED');
    expect(await codeOf(tokens.refresh(second.refreshToken))).toBe('SESSION_REVOKED');
  });

  it('without a grace (reuseGraceMs 0), two refreshes racing with one token: one wins, the other is reuse, the session dies', async () => {
    const { tokens } = makeService({ reuseGraceMs: 0 });
    const pair = await tokens.issue('u-1');
    const results = await Promise.allSettled([
      tokens.refresh(pair.refreshToken),
      tokens.refresh(pair.refreshToken),
    ]);
    const codes = results
      .map((r) => (r.status === 'fulfilled' ? 'ok' : (r.reason as AuthError).code))
      .sort();
    expect(codes).toEqual(['REFRESH_TOKEN_REUSED', 'ok']);
    const winner = results.find(
      (r) => r.status === 'fulfilled',
    ) as PromiseFulfilledResult<TokenPair>;
    expect(await codeOf(tokens.verifyAccess(winner.value.accessToken))).toBe('SESSION_REVOKED');
  });

  it('user-agent mismatch: USER_AGENT_MISMATCH on verify and refresh, a missing agent included', async () => {
    const { tokens } = makeService({ bindUserAgent: true });
    const ua = 'Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0';
    const pair = await tokens.issue('u-1', { userAgent: ua });
    await expect(tokens.verifyAccess(pair.accessToken, { userAgent: ua })).resolves.toBeDefined();
    expect(await codeOf(tokens.verifyAccess(pair.accessToken, { userAgent: 'curl/8.5' }))).toBe(
      'USER_AGENT_MISMATCH',
    );
    expect(await codeOf(tokens.verifyAccess(pair.accessToken))).toBe('USER_AGENT_MISMATCH');
    expect(await codeOf(tokens.refresh(pair.refreshToken, { userAgent: 'curl/8.5' }))).toBe(
      'USER_AGENT_MISMATCH',
    );
    // The mismatch did not burn the refresh token for the real client.
    await expect(tokens.refresh(pair.refreshToken, { userAgent: ua })).resolves.toBeDefined();
  });

  it('banned user: SUBJECT_BANNED on verify, refresh and a new login', async () => {
    const { tokens } = makeService();
    const pair = await tokens.issue('u-1');
    const bystander = await tokens.issue('u-2');
    expect(await tokens.ban('u-1')).toBe(1);
    expect(await codeOf(tokens.verifyAccess(pair.accessToken))).toBe('SUBJECT_BANNED');
    expect(await codeOf(tokens.refresh(pair.refreshToken))).toBe('SUBJECT_BANNED');
    expect(await codeOf(tokens.issue('u-1'))).toBe('SUBJECT_BANNED');
    await expect(tokens.verifyAccess(bystander.accessToken)).resolves.toMatchObject({ sub: 'u-2' });
  });

  it('malformed tokens are TOKEN_INVALID', async () => {
    const { tokens } = makeService();
    const pair = await tokens.issue('u-1');
    const [h, p, s] = decode(pair.accessToken).parts;
    const garbage = [
      '',
      'abc',
      'a.b',
      'a.b.c',
      `${h}.${p}`,
      `${h}.${p}.${s}.extra`,
      `${h}..${s}`,
      `!!!.${p}.${s}`,
      `${Buffer.from('[1,2]').toString('base64url')}.${p}.${s}`,
      `${Buffer.from('not json').toString('base64url')}.${p}.${s}`,
      `${h}.${Buffer.from('not json').toString('base64url')}.${s}`,
      `${h}.${p}.${s}=`,
      ' '.repeat(20),
    ];
    for (const token of garbage) {
      expect(await codeOf(tokens.verifyAccess(token)), JSON.stringify(token)).toBe('TOKEN_INVALID');
    }
    for (const value of [null, undefined, 42, {}, ['a']]) {
      expect(await codeOf(tokens.verifyAccess(value as never))).toBe('TOKEN_INVALID');
    }
  });

  it('a non-object payload signed with our key is TOKEN_INVALID', async () => {
    const { tokens } = makeService();
    const header = Buffer.from(
      JSON.stringify({ alg: 'HS256', kid: 'hs-1', typ: 'at+jwt' }),
    ).toString('base64url');
    for (const body of ['"text"', '[1]', '42', 'null']) {
      const input = `${header}.${Buffer.from(body).toString('base64url')}`;
      const { createHmac } = await import('node:crypto');
      const token = `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
      expect(await codeOf(tokens.verifyAccess(token))).toBe('TOKEN_INVALID');
    }
  });

  it('oversize tokens are TOKEN_INVALID before parsing', async () => {
    const { tokens } = makeService({ maxTokenLength: 1024 });
    // Signed by a service that allows longer tokens, with the same keys.
    const { tokens: lax } = makeService();
    const pair = await lax.issue('u-1', { claims: { blob: 'x'.repeat(2000) } });
    expect(await codeOf(tokens.verifyAccess(pair.accessToken))).toBe('TOKEN_INVALID');
    expect(await codeOf(tokens.verifyAccess('a'.repeat(1_000_000)))).toBe('TOKEN_INVALID');
  });

  it('property: a token with any one character changed is refused (one spelling per token)', async () => {
    const { tokens } = makeService();
    const pair = await tokens.issue('u-1', { claims: { role: 'buyer' } });
    const original = await tokens.verifyAccess(pair.accessToken);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ ';
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: pair.accessToken.length - 1 }),
        fc.constantFrom(...alphabet),
        async (index, char) => {
          const token = pair.accessToken.slice(0, index) + char + pair.accessToken.slice(index + 1);
          if (token === pair.accessToken) {
            expect(await tokens.verifyAccess(token)).toEqual(original);
            return;
          }
          // Even a non-canonical base64url spelling of the same signature bytes is refused.
          await expect(tokens.verifyAccess(token)).rejects.toBeInstanceOf(AuthError);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('every rejection carries only a generic public message', async () => {
    const { tokens } = makeService();
    const pair = await tokens.issue('u-1');
    await tokens.logout(pair.sessionId);
    const errors = await Promise.all([
      rejection(tokens.verifyAccess(pair.accessToken)),
      rejection(tokens.verifyAccess('garbage')),
      rejection(tokens.verifyAccess(pair.refreshToken)),
    ]);
    for (const err of errors) {
      expect(err).toBeInstanceOf(AuthError);
      expect((err as AuthError).publicMessage).toBe('Unauthorized');
      expect((err as AuthError).status).toBe(401);
    }
  });
});
