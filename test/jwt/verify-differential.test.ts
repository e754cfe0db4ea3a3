// girder verifies JWTs itself (synchronous node:crypto) but signs them with jose. This
// suite holds the verifier to jose's `jwtVerify`: for random claims, headers and
// mutations of tokens signed by every key type, both accept or both refuse, and accepted
// tokens give the same payload. The only cases where girder is stricter on purpose are
// named in `girderIsStricter`.
import { createHmac, createSign, type KeyObject, sign as nodeSign } from 'node:crypto';
import fc from 'fast-check';
import { jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { AuthError } from '../../src/jwt/index.js';
import { type JwtCheck, verifyJwt } from '../../src/jwt/jws.js';
import { KeyRing, type KeySpec, keyListSchema } from '../../src/jwt/keys.js';
import { ecKey, edKey, hs256, pairs, rsaKey, secret } from './fixtures.js';

const NOW = Date.UTC(2025, 5, 1);
const NOW_S = NOW / 1000;
const check: JwtCheck = {
  typ: 'at+jwt',
  required: ['sub'],
  issuer: 'shop',
  audience: ['web', 'app'],
  maxLength: 8192,
  toleranceSeconds: 5,
};

const specs: KeySpec[] = [hs256, edKey, ecKey, rsaKey];
const ring = new KeyRing(keyListSchema.parse(specs));
const b64 = (value: unknown) =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** Sign any header and payload with the named key, bypassing every library check. */
function forge(kid: string, header: Record<string, unknown>, payload: unknown): string {
  const input = `${b64(header)}.${b64(payload)}`;
  const data = Buffer.from(input);
  const s = (bytes: Buffer) => `${input}.${bytes.toString('base64url')}`;
  switch (kid) {
    case 'hs-1':
      return s(createHmac('sha256', secret).update(input).digest());
    case 'ed-1':
      return s(nodeSign(null, data, pairs.EdDSA.privateKey));
    case 'ec-1':
      return s(
        nodeSign('sha256', data, { key: pairs.ES256.privateKey, dsaEncoding: 'ieee-p1363' }),
      );
    default:
      return s(createSign('sha256').update(data).sign(pairs.RS256.privateKey));
  }
}

const verificationKeys: Record<string, { alg: string; key: KeyObject | Uint8Array }> = {
  'hs-1': { alg: 'HS256', key: secret },
  'ed-1': { alg: 'EdDSA', key: pairs.EdDSA.publicKey },
  'ec-1': { alg: 'ES256', key: pairs.ES256.publicKey },
  'rsa-1': { alg: 'RS256', key: pairs.RS256.publicKey },
};

type Outcome = { ok: true; payload: unknown } | { ok: false; error: unknown };

async function byGirder(token: string): Promise<Outcome> {
  try {
    return { ok: true, payload: await verifyJwt(ring, token, check, NOW) };
  } catch (error) {
    return { ok: false, error };
  }
}

async function byJose(token: string): Promise<Outcome> {
  try {
    const { payload } = await jwtVerify(
      token,
      (header) => {
        const entry = verificationKeys[String(header.kid)];
        if (!entry || entry.alg !== header.alg) throw new Error('no such key for this alg');
        return entry.key;
      },
      {
        algorithms: ['HS256', 'EdDSA', 'ES256', 'RS256'],
        typ: check.typ,
        issuer: check.issuer,
        audience: check.audience,
        clockTolerance: check.toleranceSeconds,
        currentDate: new Date(NOW),
      },
    );
    for (const claim of check.required) {
      if (payload[claim] === undefined) throw new Error(`missing ${claim}`);
    }
    return { ok: true, payload };
  } catch (error) {
    return { ok: false, error };
  }
}

/** Tokens girder refuses on purpose although jose would take them. */
function girderIsStricter(token: string): boolean {
  const [h = '', , s = ''] = token.split('.');
  let header: Record<string, unknown> = {};
  try {
    header = JSON.parse(Buffer.from(h, 'base64url').toString());
  } catch {}
  return (
    // one spelling per token: a non-canonical base64url signature is refused
    Buffer.from(s, 'base64url').toString('base64url') !== s ||
    // no JWS extensions (jose knows `b64` when listed in `crit`)
    header.crit !== undefined ||
    header.b64 !== undefined
  );
}

async function expectSameVerdict(token: string): Promise<void> {
  const [g, j] = await Promise.all([byGirder(token), byJose(token)]);
  if (!g.ok) expect(g.error).toBeInstanceOf(AuthError);
  if (g.ok && j.ok) {
    expect(g.payload).toEqual(j.payload);
    return;
  }
  if (!g.ok && j.ok && girderIsStricter(token)) return;
  expect({ girder: g.ok, jose: j.ok, token }).toEqual({ girder: j.ok, jose: j.ok, token });
}

/** Mostly a valid value (so the acceptance paths are exercised), sometimes a wrong one. */
const mostly = <T>(good: fc.Arbitrary<T>, bad: fc.Arbitrary<T>) =>
  fc.oneof({ weight: 9, arbitrary: good }, { weight: 1, arbitrary: bad });

const oddDate = fc.constantFrom(undefined, '1', null, Number.MAX_SAFE_INTEGER, 1.5e9 + 0.5);
/** Around the edge of the tolerance window, or not a NumericDate at all. */
const edgeDate = fc.oneof(fc.integer({ min: NOW_S - 20, max: NOW_S + 20 }), oddDate);
const exp = mostly<unknown>(fc.integer({ min: NOW_S + 6, max: NOW_S + 3600 }), edgeDate);
const nbf = mostly<unknown>(fc.integer({ min: NOW_S - 3600, max: NOW_S + 5 }), edgeDate);
const iat = mostly<unknown>(fc.integer({ min: NOW_S - 3600, max: NOW_S }), oddDate);
const claims = fc.record(
  {
    sub: mostly<unknown>(fc.constant('u-1'), fc.constantFrom(undefined, 5)),
    iss: mostly<unknown>(fc.constant('shop'), fc.constantFrom('other', undefined, 7)),
    aud: mostly<unknown>(
      fc.constantFrom('web', 'app', ['x', 'app']),
      fc.constantFrom('x', ['x'], [], undefined, 3),
    ),
    exp,
    nbf,
    iat,
    role: fc.string({ maxLength: 8 }),
  },
  // Every key present: the `bad` values include undefined, which JSON leaves out.
);
const KIDS = Object.keys(verificationKeys);
/** A signer and a header that mostly names it correctly. */
const signed = fc.constantFrom(...KIDS).chain((kid) =>
  fc.tuple(
    fc.constant(kid),
    fc.record({
      alg: mostly<unknown>(
        fc.constant(verificationKeys[kid]!.alg),
        fc.constantFrom('HS256', 'EdDSA', 'ES256', 'RS256', 'none', 'HS384', undefined, 1),
      ),
      kid: mostly<unknown>(fc.constant(kid), fc.constantFrom(...KIDS, 'nope', undefined)),
      typ: mostly<unknown>(
        fc.constantFrom('at+jwt', 'AT+JWT', 'application/at+jwt'),
        fc.constantFrom('rt+jwt', 'JWT', undefined),
      ),
      crit: mostly<unknown>(fc.constant(undefined), fc.constantFrom(['exp'], ['b64'])),
      b64: mostly<unknown>(fc.constant(undefined), fc.constantFrom(false, true)),
    }),
  ),
);

describe('the verifier agrees with jose.jwtVerify', () => {
  it('on random headers and claims, signed by every key type', async () => {
    let accepted = 0;
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(signed, claims, async ([kid, h], c) => {
        const token = forge(kid, h, c);
        await expectSameVerdict(token);
        if ((await byGirder(token)).ok) accepted++;
        else refused++;
      }),
      { numRuns: 800 },
    );
    // Both paths are really exercised, not just the refusals.
    expect(accepted).toBeGreaterThan(100);
    expect(refused).toBeGreaterThan(200);
  });

  it('on valid tokens with one character changed, dropped or inserted', async () => {
    const valid = (kid: string) =>
      forge(
        kid,
        { alg: verificationKeys[kid]!.alg, kid, typ: 'at+jwt' },
        { sub: 'u-1', iss: 'shop', aud: 'web', exp: NOW_S + 60, iat: NOW_S },
      );
    const tokens = Object.keys(verificationKeys).map(valid);
    for (const token of tokens) expect((await byGirder(token)).ok).toBe(true);
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...tokens),
        fc.nat(),
        fc.constantFrom('change', 'drop', 'insert'),
        fc.constantFrom(...'AQgw_-.=xyz09'),
        async (token, at, how, char) => {
          const i = at % token.length;
          const mutated =
            how === 'drop'
              ? token.slice(0, i) + token.slice(i + 1)
              : token.slice(0, i) + char + token.slice(how === 'insert' ? i : i + 1);
          await expectSameVerdict(mutated);
        },
      ),
      { numRuns: 600 },
    );
  });

  it('on non-object payloads and headers', async () => {
    for (const payload of ['[]', '"x"', '1', 'null', '{"a":1', '\u00ff']) {
      await expectSameVerdict(forge('hs-1', { alg: 'HS256', kid: 'hs-1', typ: 'at+jwt' }, payload));
    }
    const input = `${b64('[]')}.${b64({ sub: 'u-1', iss: 'shop', aud: 'web' })}`;
    await expectSameVerdict(
      `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`,
    );
  });

  it('refuses invalid UTF-8 in the payload, as jose does', async () => {
    const input = `${b64({ alg: 'HS256', kid: 'hs-1', typ: 'at+jwt' })}.${Buffer.from([0x7b, 0xff, 0x7d]).toString('base64url')}`;
    const token = `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
    expect((await byGirder(token)).ok).toBe(false);
    await expectSameVerdict(token);
  });
});
