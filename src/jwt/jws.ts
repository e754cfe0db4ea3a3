import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import {
  AuthError,
  TokenAlgorithmError,
  TokenClaimError,
  TokenExpiredError,
  TokenInvalidError,
  TokenNotYetValidError,
  TokenTypeError,
} from './errors.js';
import type { KeyRing } from './keys.js';

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

/** Three base64url segments (the signature may be empty only to be refused by jose). */
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/**
 * Turn whatever jose threw into the {@link AuthError} naming the failed check.
 * Errors that are not jose's (a bug) pass through unchanged.
 *
 * @internal
 */
export function toAuthError(err: unknown, typ: string): unknown {
  if (err instanceof AuthError) return err;
  if (err instanceof joseErrors.JWTExpired) return new TokenExpiredError({ cause: err });
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    if (err.claim === 'nbf' && err.reason === 'check_failed') {
      return new TokenNotYetValidError({ cause: err });
    }
    if (err.claim === 'typ') return new TokenTypeError(typ, { cause: err });
    const problem =
      err.reason === 'missing'
        ? 'is missing'
        : err.reason === 'invalid'
          ? 'has the wrong type'
          : 'has an unexpected value';
    return new TokenClaimError(err.claim, problem, { cause: err });
  }
  if (err instanceof joseErrors.JOSEAlgNotAllowed) {
    return new TokenAlgorithmError('token algorithm is not accepted', { cause: err });
  }
  if (err instanceof joseErrors.JOSEError)
    return new TokenInvalidError(err.message, { cause: err });
  return err;
}

/**
 * Verify a compact JWT with the ring's keys (kid lookup, pinned alg) and the check's
 * type, claims, issuer and audience, at time `now` (ms). Resolves the payload or
 * rejects with an {@link AuthError}.
 *
 * @internal
 */
export async function verifyJwt(
  ring: KeyRing,
  token: unknown,
  check: JwtCheck,
  now: number,
): Promise<Record<string, unknown>> {
  if (typeof token !== 'string' || token.length === 0) {
    throw new TokenInvalidError('token must be a non-empty string');
  }
  if (token.length > check.maxLength) {
    throw new TokenInvalidError(`token is longer than ${check.maxLength} characters`);
  }
  // jose tolerates padding and stray characters; girder accepts one spelling of a token only.
  if (!COMPACT_JWS.test(token)) throw new TokenInvalidError('token is not a compact JWS');
  const single = ring.single;
  let payload: Record<string, unknown>;
  try {
    const verified = await jwtVerify(token, single?.verify ?? ring.resolve, {
      algorithms: ring.algorithms as string[],
      typ: check.typ,
      issuer: check.issuer,
      audience: check.audience,
      clockTolerance: check.toleranceSeconds,
      currentDate: new Date(now),
    });
    if (single !== undefined && verified.protectedHeader.kid !== single.kid) {
      throw new TokenInvalidError('token does not name the key that verified it');
    }
    payload = verified.payload;
  } catch (err) {
    throw toAuthError(err, check.typ);
  }
  // Presence only (cheaper here than jose's requiredClaims); callers check the values.
  for (const claim of check.required) {
    if (payload[claim] === undefined) throw new TokenClaimError(claim, 'is missing');
  }
  return payload;
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
