import { generateKeyPairSync, randomBytes, webcrypto } from 'node:crypto';
import fastifyJwt from '@fastify/jwt';
import Fastify from 'fastify';
import { type KeySpec, tokenService } from 'girder/jwt';
import { importJWK, jwtVerify } from 'jose';
import type { BenchCase, BenchSuite, Runner } from '../harness.js';

/**
 * `verifyAccess` (signature on node:crypto, pinned algorithm, type, claims, session
 * check in the memory store) against what a user would otherwise call: a bare
 * `jose.jwtVerify` of the same token with the same, already imported key, and
 * `@fastify/jwt` (fast-jwt, synchronous node:crypto) verifying the same token.
 */

const sequential =
  (verify: () => Promise<unknown>): Runner =>
  async (n) => {
    for (let i = 0; i < n; i++) await verify();
  };

/** `inFlight` verifications at a time, as a busy server runs them. */
const concurrent =
  (verify: () => Promise<unknown>, inFlight: number): Runner =>
  async (n) => {
    for (let done = 0; done < n; done += inFlight) {
      const batch: Promise<unknown>[] = [];
      for (let j = 0; j < inFlight && done + j < n; j++) batch.push(verify());
      await Promise.all(batch);
    }
  };

async function hmacCase(inFlight: number, ringSize = 1): Promise<BenchCase> {
  const secret = randomBytes(32);
  // During a key rotation the ring holds the new key and the old one(s).
  const older: KeySpec[] = Array.from({ length: ringSize - 1 }, (_, i) => ({
    kid: `old-${i}`,
    alg: 'HS256',
    key: randomBytes(32),
  }));
  const tokens = tokenService({ keys: [{ kid: 'k1', alg: 'HS256', key: secret }, ...older] });
  const { accessToken } = await tokens.issue('u-1', { claims: { role: 'buyer' } });
  const key = await webcrypto.subtle.importKey(
    'raw',
    secret,
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['verify'],
  );
  const app = Fastify();
  await app.register(fastifyJwt, { secret });
  await app.ready();
  const girder = () => tokens.verifyAccess(accessToken);
  const jose = () => jwtVerify(accessToken, key, { algorithms: ['HS256'] });
  const run = (verify: () => Promise<unknown>) =>
    inFlight === 1 ? sequential(verify) : concurrent(verify, inFlight);
  return {
    name: `verifyAccess HS256, memory store${ringSize > 1 ? `, ${ringSize}-key ring` : ''}${
      inFlight === 1 ? '' : `, ${inFlight} in flight`
    }`,
    girder: run(girder),
    peers: [
      { name: 'jose.jwtVerify', run: run(jose) },
      {
        name: '@fastify/jwt verify',
        run: (n) => {
          for (let i = 0; i < n; i++) app.jwt.verify(accessToken);
        },
      },
    ],
    setup: async () => async () => {
      await app.close();
    },
  };
}

async function edCase(): Promise<BenchCase> {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const spec: KeySpec = { kid: 'ed', alg: 'EdDSA', key: privateKey };
  const tokens = tokenService({ keys: [spec] });
  const { accessToken } = await tokens.issue('u-1');
  const key = await importJWK(publicKey.export({ format: 'jwk' }), 'EdDSA');
  return {
    name: 'verifyAccess EdDSA, memory store',
    girder: sequential(() => tokens.verifyAccess(accessToken)),
    peers: [
      {
        name: 'jose.jwtVerify',
        run: sequential(() => jwtVerify(accessToken, key, { algorithms: ['EdDSA'] })),
      },
    ],
  };
}

export const suite: BenchSuite = {
  name: 'jwt',
  cases: [await hmacCase(1), await hmacCase(64), await hmacCase(1, 2), await edCase()],
};
