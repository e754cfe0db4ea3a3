import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

// A rotation stores the pair it minted so that a retry of the same refresh (the client
// never saw the answer) gets the same pair back during `reuseGraceMs`. The store must
// not hold usable tokens in the clear, so the pair is sealed with AES-256-GCM under a
// key derived from the refresh token it replaced: only someone presenting that exact
// token, which the store never sees, can open it.

const keyOf = (refreshToken: string) =>
  createHash('sha256').update('girder/jwt successor\0').update(refreshToken).digest();

/** The successor pair's tokens, as sealed. */
export interface SealedPair {
  readonly accessToken: string;
  readonly refreshToken: string;
  readonly expiresAt: number;
  readonly refreshExpiresAt: number;
}

/**
 * Seal `pair` under the refresh token it replaces: `iv.tag.ciphertext`, base64url.
 *
 * @internal
 */
export function sealSuccessor(pair: SealedPair, replaced: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', keyOf(replaced), iv);
  const body = Buffer.concat([cipher.update(JSON.stringify(pair), 'utf8'), cipher.final()]);
  return [iv, cipher.getAuthTag(), body].map((b) => b.toString('base64url')).join('.');
}

/**
 * Open a sealed successor with the refresh token presented; `undefined` when it does
 * not open (another token, a corrupted or foreign value).
 *
 * @internal
 */
export function openSuccessor(sealed: string, presented: string): SealedPair | undefined {
  const [iv, tag, body] = sealed.split('.').map((part) => Buffer.from(part, 'base64url'));
  if (!iv || !tag || !body || iv.length !== 12 || tag.length !== 16) return undefined;
  try {
    const decipher = createDecipheriv('aes-256-gcm', keyOf(presented), iv);
    decipher.setAuthTag(tag);
    const json = Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8');
    const pair = JSON.parse(json) as SealedPair;
    return typeof pair.accessToken === 'string' && typeof pair.refreshToken === 'string'
      ? pair
      : undefined;
  } catch {
    return undefined;
  }
}
