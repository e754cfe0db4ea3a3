import {
  createPrivateKey,
  createPublicKey,
  createSecretKey,
  type JsonWebKey,
  KeyObject,
  webcrypto,
} from 'node:crypto';
import { importJWK } from 'jose';
import { z } from 'zod';
import { TokenAlgorithmError, TokenInvalidError } from './errors.js';

/**
 * Signature algorithms girder signs and verifies with: HMAC (`HS256/384/512`, a shared
 * secret) or asymmetric (`EdDSA` over Ed25519, `ES256` over P-256, `RS256` with an RSA
 * key of at least 2048 bits).
 */
export type JwtAlgorithm = 'HS256' | 'HS384' | 'HS512' | 'EdDSA' | 'ES256' | 'RS256';

const ALGORITHMS = ['HS256', 'HS384', 'HS512', 'EdDSA', 'ES256', 'RS256'] as const;

/** A `CryptoKey` (Web Crypto), as Node types it. */
export type WebCryptoKey = webcrypto.CryptoKey;

/**
 * Key material: for HMAC a secret (bytes, a UTF-8 string, a secret `KeyObject` or an
 * `oct` JWK); for asymmetric algorithms a private key (signs and verifies) or a public
 * key (verifies only) as a `KeyObject`, `CryptoKey`, JWK or PEM string.
 */
export type KeyMaterial = Uint8Array | string | KeyObject | WebCryptoKey | JsonWebKey;

/**
 * One key of a key ring. `kid` goes into every token it signs, and verification looks
 * the key up by it; `alg` is pinned: a token naming this `kid` with any other `alg` is
 * refused before its signature is even checked.
 *
 * @example
 * ```ts
 * import { generateKeyPairSync, randomBytes } from 'node:crypto';
 * import type { KeySpec } from 'girder/jwt';
 *
 * const hmac: KeySpec = { kid: '2025-06', alg: 'HS256', key: randomBytes(32) };
 * const ed: KeySpec = { kid: 'ed-1', alg: 'EdDSA', key: generateKeyPairSync('ed25519').privateKey };
 * ```
 */
export interface KeySpec {
  /** Key id, unique within the ring; written into the token header. */
  kid: string;
  /** The only algorithm this key accepts. */
  alg: JwtAlgorithm;
  /** The key itself. */
  key: KeyMaterial;
}

/** A public JWK as published in a JWKS, with `kid`, `alg` and `use: 'sig'`. */
export interface PublicJwk extends JsonWebKey {
  /** Key id. */
  kid: string;
  /** Pinned algorithm. */
  alg: JwtAlgorithm;
  /** Always `sig`. */
  use: 'sig';
}

/** A JSON Web Key Set: what `/.well-known/jwks.json` serves. */
export interface Jwks {
  /** Public keys; HMAC secrets never appear. */
  keys: PublicJwk[];
}

const HMAC_BYTES: Partial<Record<JwtAlgorithm, number>> = { HS256: 32, HS384: 48, HS512: 64 };
const HMAC_HASH: Partial<Record<JwtAlgorithm, string>> = {
  HS256: 'SHA-256',
  HS384: 'SHA-384',
  HS512: 'SHA-512',
};

/**
 * A key whose material matched its algorithm, as Node `KeyObject`s.
 *
 * @internal
 */
export interface CheckedKey {
  readonly kid: string;
  readonly alg: JwtAlgorithm;
  /** Secret or private key; undefined for a verify-only public key. */
  readonly signing: KeyObject | undefined;
  /** Secret or public key. */
  readonly verifying: KeyObject;
}

const isKeyObject = (value: unknown): value is KeyObject => value instanceof KeyObject;
const isCryptoKey = (value: unknown): value is WebCryptoKey =>
  typeof value === 'object' &&
  value !== null &&
  (value as { [Symbol.toStringTag]?: unknown })[Symbol.toStringTag] === 'CryptoKey';

/**
 * Key material that is really an encoded asymmetric key (PEM, OpenSSH, a DER
 * SubjectPublicKeyInfo / PKCS#8 / PKCS#1 sequence). Used as an HMAC secret, a public key
 * would let anyone holding it forge tokens, so it is refused.
 */
function looksAsymmetric(bytes: Uint8Array): boolean {
  const text = Buffer.from(bytes.subarray(0, 4096)).toString('latin1');
  if (/-----BEGIN [A-Z0-9 ]*KEY-----|-----BEGIN CERTIFICATE-----/.test(text)) return true;
  if (/^\s*(ssh-(rsa|ed25519|dss)|ecdsa-sha2-)\s/.test(text)) return true;
  // DER (SPKI, PKCS#8, PKCS#1): a SEQUENCE spanning exactly all the bytes, whose first
  // element is a SEQUENCE or an INTEGER.
  if (bytes[0] === 0x30 && bytes.length > 4) {
    const first = bytes[1] ?? 0;
    let header = 2;
    let length = first;
    if (first & 0x80) {
      const lengthBytes = first & 0x7f;
      if (lengthBytes < 1 || lengthBytes > 2) return false;
      length = 0;
      for (let i = 0; i < lengthBytes; i++) length = length * 256 + (bytes[2 + i] ?? 0);
      header += lengthBytes;
    }
    const inner = bytes[header];
    if (length === bytes.length - header && (inner === 0x30 || inner === 0x02)) return true;
  }
  return false;
}

function toKeyObject(alg: JwtAlgorithm, key: unknown): KeyObject {
  const hmac = HMAC_BYTES[alg] !== undefined;
  if (isKeyObject(key)) return key;
  if (isCryptoKey(key)) return KeyObject.from(key);
  if (key instanceof Uint8Array) {
    if (!hmac) throw new Error(`${alg} needs a private or public key, not raw bytes`);
    if (looksAsymmetric(key)) {
      throw new Error(`${alg} needs a random secret, not an encoded public or private key`);
    }
    return createSecretKey(key);
  }
  if (typeof key === 'string') {
    if (hmac) {
      const bytes = Buffer.from(key, 'utf8');
      if (looksAsymmetric(bytes)) {
        throw new Error(`${alg} needs a random secret, not a PEM or OpenSSH key`);
      }
      return createSecretKey(bytes);
    }
    try {
      return createPrivateKey(key);
    } catch {
      return createPublicKey(key);
    }
  }
  if (typeof key === 'object' && key !== null && typeof (key as JsonWebKey).kty === 'string') {
    const jwk = key as JsonWebKey;
    if (jwk.kty === 'oct') {
      if (typeof jwk.k !== 'string') throw new Error('an oct JWK needs "k"');
      return createSecretKey(Buffer.from(jwk.k, 'base64url'));
    }
    return jwk.d === undefined
      ? createPublicKey({ key: jwk, format: 'jwk' })
      : createPrivateKey({ key: jwk, format: 'jwk' });
  }
  throw new Error('expected bytes, a string, a KeyObject, a CryptoKey or a JWK');
}

/** Throws a message saying why `key` can't be used with `alg`. */
function checkKey(alg: JwtAlgorithm, key: KeyObject): void {
  const minBytes = HMAC_BYTES[alg];
  if (minBytes !== undefined) {
    if (key.type !== 'secret') throw new Error(`${alg} needs a secret, not a ${key.type} key`);
    const size = key.symmetricKeySize ?? 0;
    if (size < minBytes) {
      throw new Error(`${alg} needs a secret of at least ${minBytes} bytes (got ${size})`);
    }
    return;
  }
  if (key.type === 'secret') throw new Error(`${alg} needs a private or public key, not a secret`);
  const type = key.asymmetricKeyType;
  const details = key.asymmetricKeyDetails ?? {};
  if (alg === 'EdDSA' && type !== 'ed25519') {
    throw new Error(`EdDSA needs an Ed25519 key (got ${type})`);
  }
  if (alg === 'ES256' && (type !== 'ec' || details.namedCurve !== 'prime256v1')) {
    throw new Error(`ES256 needs a P-256 EC key (got ${type} ${details.namedCurve ?? ''})`.trim());
  }
  if (alg === 'RS256') {
    if (type !== 'rsa') throw new Error(`RS256 needs an RSA key (got ${type})`);
    if ((details.modulusLength ?? 0) < 2048) {
      throw new Error(
        `RS256 needs an RSA key of at least 2048 bits (got ${details.modulusLength})`,
      );
    }
  }
}

const keySpecSchema = z.strictObject({
  kid: z.string().min(1).max(128),
  alg: z.enum(ALGORITHMS),
  key: z.custom<KeyMaterial>((value) => value !== undefined && value !== null, 'key is required'),
});

/**
 * zod schema of a key list: validates each key against its algorithm and converts it
 * to `KeyObject`s; the first key must be able to sign. Shared by every girder/jwt factory.
 *
 * @internal
 */
export const keyListSchema = z
  .array(keySpecSchema)
  .min(1)
  .transform((specs, ctx): CheckedKey[] => {
    const seen = new Set<string>();
    const checked: CheckedKey[] = [];
    specs.forEach((spec, index) => {
      if (seen.has(spec.kid)) {
        ctx.issues.push({
          code: 'custom',
          message: `duplicate kid "${spec.kid}"`,
          input: spec.kid,
          path: [index, 'kid'],
        });
      }
      seen.add(spec.kid);
      let key: KeyObject;
      try {
        key = toKeyObject(spec.alg, spec.key);
        checkKey(spec.alg, key);
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        ctx.issues.push({ code: 'custom', message, input: spec.key, path: [index, 'key'] });
        return;
      }
      const signing = key.type === 'public' ? undefined : key;
      const verifying = key.type === 'private' ? createPublicKey(key) : key;
      if (index === 0 && signing === undefined) {
        ctx.issues.push({
          code: 'custom',
          message: 'the first key signs, so it must be a secret or a private key',
          input: spec.key,
          path: [index, 'key'],
        });
      }
      checked.push({ kid: spec.kid, alg: spec.alg, signing, verifying });
    });
    return checked;
  });

/** A verification key: its pinned algorithm and the Node key that checks signatures. */
export interface VerificationKey {
  /** Key id. */
  readonly kid: string;
  /** Pinned algorithm. */
  readonly alg: JwtAlgorithm;
  /** Secret (HMAC) or public key. */
  readonly key: KeyObject;
}

/** The signing key, ready for jose. */
export interface SigningKey {
  /** Key id for the header. */
  readonly kid: string;
  /** Algorithm for the header. */
  readonly alg: JwtAlgorithm;
  /** The CryptoKey jose signs with. */
  readonly key: WebCryptoKey;
}

/**
 * The keys of one service. The first key signs (imported once as a Web Crypto key for
 * jose, which would otherwise re-import a secret on every call); every key verifies,
 * synchronously with node:crypto, but only tokens whose header names its `kid` *and*
 * its pinned `alg`.
 *
 * @internal
 */
export class KeyRing {
  /** Every algorithm some key accepts: a token naming any other is refused first. */
  readonly algorithms: readonly JwtAlgorithm[];
  readonly #checked: readonly CheckedKey[];
  readonly #byKid = new Map<string, VerificationKey>();
  #signing: Promise<SigningKey> | undefined;

  constructor(checked: readonly CheckedKey[]) {
    this.#checked = checked;
    this.algorithms = [...new Set(checked.map((k) => k.alg))];
    for (const k of checked) this.#byKid.set(k.kid, { kid: k.kid, alg: k.alg, key: k.verifying });
  }

  /** Import the signing key; later calls return the same promise. */
  ready(): Promise<SigningKey> {
    this.#signing ??= this.#importSigningKey();
    return this.#signing;
  }

  async #importSigningKey(): Promise<SigningKey> {
    const first = this.#checked[0]!;
    const key = await importSigningKey(first.alg, first.signing!);
    return { kid: first.kid, alg: first.alg, key };
  }

  /** The key new tokens are signed with. */
  signingKey(): Promise<SigningKey> {
    return this.ready();
  }

  /**
   * The verification key named by a token header's `kid`, provided the header's `alg`
   * is the one pinned to it. Runs before the signature is checked.
   */
  verificationKey(header: { readonly kid?: unknown; readonly alg?: unknown }): VerificationKey {
    const kid = header.kid;
    const entry = typeof kid === 'string' ? this.#byKid.get(kid) : undefined;
    if (entry === undefined) {
      throw new TokenInvalidError(
        typeof kid === 'string' ? `unknown key id "${kid}"` : 'token has no key id',
      );
    }
    if (header.alg !== entry.alg) {
      throw new TokenAlgorithmError(
        `key "${entry.kid}" accepts ${entry.alg} only, token claims ${String(header.alg)}`,
      );
    }
    return entry;
  }

  /** Public keys as a JWKS. HMAC secrets are never included. */
  jwks(): Jwks {
    const keys: PublicJwk[] = [];
    for (const k of this.#checked) {
      if (k.verifying.type !== 'public') continue;
      const jwk = k.verifying.export({ format: 'jwk' });
      keys.push({ ...jwk, kid: k.kid, alg: k.alg, use: 'sig' });
    }
    return { keys };
  }
}

/** The signing key as the Web Crypto key jose signs with. */
async function importSigningKey(alg: JwtAlgorithm, key: KeyObject): Promise<WebCryptoKey> {
  const hash = HMAC_HASH[alg];
  if (hash !== undefined) {
    return webcrypto.subtle.importKey('raw', key.export(), { name: 'HMAC', hash }, false, ['sign']);
  }
  const imported = await importJWK({ ...key.export({ format: 'jwk' }), alg }, alg);
  if (imported instanceof Uint8Array) throw new Error(`unexpected secret for ${alg} signing key`);
  return imported as WebCryptoKey;
}
