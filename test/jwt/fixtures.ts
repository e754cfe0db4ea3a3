import { createHmac, generateKeyPairSync, type KeyObject, randomBytes } from 'node:crypto';
import { manualClock } from '../../src/core/index.js';
import {
  type KeySpec,
  type SessionStore,
  type TokenServiceOptions,
  tokenService,
} from '../../src/jwt/index.js';

/** A fixed start time for manual clocks: 2025-01-01T00:00:00Z. */
export const T0 = Date.UTC(2025, 0, 1);

export const secret = randomBytes(32);
export const hs256: KeySpec = { kid: 'hs-1', alg: 'HS256', key: secret };

const ed = generateKeyPairSync('ed25519');
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });

export const pairs: Record<
  'EdDSA' | 'ES256' | 'RS256',
  { privateKey: KeyObject; publicKey: KeyObject }
> = { EdDSA: ed, ES256: ec, RS256: rsa };

export const edKey: KeySpec = { kid: 'ed-1', alg: 'EdDSA', key: ed.privateKey };
export const ecKey: KeySpec = { kid: 'ec-1', alg: 'ES256', key: ec.privateKey };
export const rsaKey: KeySpec = { kid: 'rsa-1', alg: 'RS256', key: rsa.privateKey };

/** A token service on a manual clock; returns both. */
export function makeService(options: Partial<TokenServiceOptions> = {}) {
  const clock = manualClock(T0);
  const tokens = tokenService({ keys: [hs256], clock, ...options });
  return { tokens, clock };
}

const b64 = (value: unknown) =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** Hand-craft a compact JWS signed with HMAC-SHA256 over `key` (any bytes). */
export function hmacJwt(
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
  key: Buffer | string,
) {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${createHmac('sha256', key).update(input).digest('base64url')}`;
}

/** Split a compact JWS into decoded header and payload plus the raw parts. */
export function decode(token: string) {
  const [h, p, s] = token.split('.') as [string, string, string];
  return {
    header: JSON.parse(Buffer.from(h, 'base64url').toString()) as Record<string, unknown>,
    payload: JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>,
    parts: [h, p, s] as const,
  };
}

/** Replace the payload of a token, keeping its header and signature. */
export function withPayload(token: string, payload: Record<string, unknown>) {
  const [h, , s] = token.split('.');
  return `${h}.${b64(payload)}.${s}`;
}

/** Replace the header of a token, keeping its payload and signature. */
export function withHeader(token: string, header: Record<string, unknown>) {
  const [, p, s] = token.split('.');
  return `${b64(header)}.${p}.${s}`;
}

/** The error a promise rejects with (fails the test if it resolves). */
export async function rejection(promise: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await promise;
  } catch (err) {
    return err as Error & { code?: string };
  }
  throw new Error('expected the promise to reject');
}

/** The `code` a promise rejects with. */
export async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  return (await rejection(promise)).code;
}

/** A session store whose every call fails, as a store behind a dead network would. */
export function brokenStore(): SessionStore {
  const fail = async (): Promise<never> => {
    throw new Error('connection refused');
  };
  return {
    create: fail,
    check: fail,
    rotate: fail,
    revoke: fail,
    revokeAll: fail,
    ban: fail,
    unban: fail,
    isBanned: fail,
    close: async () => {},
  };
}
