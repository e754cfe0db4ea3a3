import { SignJWT } from 'jose';
import {
  TokenAlgorithmError,
  TokenClaimError,
  TokenExpiredError,
  TokenInvalidError,
  TokenNotYetValidError,
  TokenTypeError,
} from './errors.js';
import type { KeyRing } from './keys.js';
import { signatureMatches } from './signature.js';

/** What one token type requires of a JWT. @internal */
export interface JwtCheck {
  /** Required header `typ`. */
  readonly typ: string;
  /** Claims that must be present. */
  readonly required: readonly string[];
  /** Required `iss`, if any. */
  readonly issuer?: string | undefined;
  /** Accepted `aud` values, if any. */
  readonly audience?: string | string[] | undefined;
  /** Tokens longer than this are refused unparsed. */
  readonly maxLength: number;
  /** Leeway for `exp` / `nbf`, seconds. */
  readonly toleranceSeconds: number;
}

/** Three base64url segments (the signature may be empty only to be refused). */
const COMPACT_JWS = /^([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]*)$/;

/** UTF-8 that refuses invalid byte sequences instead of replacing them (as jose does). */
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** A base64url segment as a JSON object, or undefined when it is anything else. */
function jsonObject(segment: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(strictUtf8.decode(Buffer.from(segment, 'base64url')));
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** Media types compare case-insensitively, and `application/` may be left out (RFC 7515 4.1.9). */
const normalizeTyp = (typ: string) => {
  const lower = typ.toLowerCase();
  return lower.includes('/') ? lower : `application/${lower}`;
};

/** A NumericDate claim (seconds), or undefined when absent; anything else is refused. */
function numericDate(payload: Record<string, unknown>, claim: string): number | undefined {
  const value = payload[claim];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new TokenClaimError(claim, 'has the wrong type');
  }
  return value;
}

/**
 * Verify a compact JWT with the ring's keys (kid lookup, pinned alg) and the check's
 * type, claims, issuer and audience, at time `now` (ms). Resolves the payload or
 * rejects with an {@link AuthError}.
 *
 * The checks follow jose's `jwtVerify` (same order, same claim rules: tests compare
 * the two on mutated tokens), but run synchronously on node:crypto; girder still signs
 * with jose.
 *
 * @internal
 */
export async function verifyJwt(
  ring: KeyRing,
  token: unknown,
  check: JwtCheck,
  now: number,
): Promise<Record<string, unknown>> {
  return verifyJwtSync(ring, token, check, now);
}

function verifyJwtSync(
  ring: KeyRing,
  token: unknown,
  check: JwtCheck,
  now: number,
): Record<string, unknown> {
  if (typeof token !== 'string' || token.length === 0) {
    throw new TokenInvalidError('token must be a non-empty string');
  }
  if (token.length > check.maxLength) {
    throw new TokenInvalidError(`token is longer than ${check.maxLength} characters`);
  }
  // One spelling of a token only: no padding, whitespace or stray characters.
  const parts = COMPACT_JWS.exec(token);
  if (parts === null) throw new TokenInvalidError('token is not a compact JWS');
  const [, encodedHeader, encodedPayload, signature] = parts as unknown as [
    string,
    string,
    string,
    string,
  ];

  const header = jsonObject(encodedHeader);
  if (header === undefined) throw new TokenInvalidError('token header is not a JSON object');
  if (typeof header.alg !== 'string') throw new TokenInvalidError('token header has no "alg"');
  if (!(ring.algorithms as readonly string[]).includes(header.alg)) {
    throw new TokenAlgorithmError('token algorithm is not accepted');
  }
  // girder never issues `crit` (or the `b64` extension it would announce): refuse both
  // rather than half-understand them.
  if (header.crit !== undefined || header.b64 !== undefined) {
    throw new TokenInvalidError('token header has extensions girder does not support');
  }
  const key = ring.verificationKey(header);
  if (signature.length === 0) throw new TokenInvalidError('token has no signature');
  if (!signatureMatches(key.alg, key.key, `${encodedHeader}.${encodedPayload}`, signature)) {
    throw new TokenInvalidError('signature verification failed');
  }

  const payload = jsonObject(encodedPayload);
  if (payload === undefined) throw new TokenInvalidError('token payload is not a JSON object');
  if (typeof header.typ !== 'string' || normalizeTyp(header.typ) !== normalizeTyp(check.typ)) {
    throw new TokenTypeError(check.typ);
  }
  if (check.issuer !== undefined && !Object.hasOwn(payload, 'iss')) {
    throw new TokenClaimError('iss', 'is missing');
  }
  if (check.audience !== undefined && !Object.hasOwn(payload, 'aud')) {
    throw new TokenClaimError('aud', 'is missing');
  }
  if (check.issuer !== undefined && payload.iss !== check.issuer) {
    throw new TokenClaimError('iss', 'has an unexpected value');
  }
  if (check.audience !== undefined && !audienceMatches(payload.aud, check.audience)) {
    throw new TokenClaimError('aud', 'has an unexpected value');
  }
  const seconds = Math.floor(now / 1000);
  const tolerance = check.toleranceSeconds;
  numericDate(payload, 'iat');
  const nbf = numericDate(payload, 'nbf');
  if (nbf !== undefined && nbf > seconds + tolerance) throw new TokenNotYetValidError();
  const exp = numericDate(payload, 'exp');
  if (exp !== undefined && exp <= seconds - tolerance) throw new TokenExpiredError();
  // Presence only; callers check the values.
  for (const claim of check.required) {
    if (payload[claim] === undefined) throw new TokenClaimError(claim, 'is missing');
  }
  return payload;
}

function audienceMatches(aud: unknown, accepted: string | string[]): boolean {
  const list = typeof accepted === 'string' ? [accepted] : accepted;
  if (typeof aud === 'string') return list.includes(aud);
  return Array.isArray(aud) && list.some((a) => aud.includes(a));
}

/**
 * Sign `payload` with the ring's signing key, header `{alg, kid, typ}`.
 *
 * @internal
 */
export async function signJwt(
  ring: KeyRing,
  payload: Record<string, unknown>,
  typ: string,
): Promise<string> {
  const key = await ring.signingKey();
  return new SignJWT(payload).setProtectedHeader({ alg: key.alg, kid: key.kid, typ }).sign(key.key);
}
