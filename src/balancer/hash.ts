// The default string hash of consistentHash: 32-bit FNV-1a over UTF-16 code units, then
// murmur3's finaliser. FNV alone clusters on keys that differ only in their last
// characters ("node-1#1", "node-1#2"), which is exactly what ring points look like; the
// finaliser spreads them.

/**
 * A fast, allocation-free 32-bit string hash (FNV-1a with murmur3's avalanche
 * finaliser), the default `hash` of {@link consistentHash}. Not cryptographic.
 *
 * @example
 * ```ts
 * import { hash32 } from 'girder/balancer';
 *
 * hash32('user-42'); // an integer in [0, 2^32)
 * ```
 */
export function hash32(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
