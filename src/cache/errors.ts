import { GirderError } from '../core/index.js';

/**
 * `getOrSet` had nothing to serve and the loader did not answer within the hard timeout
 * (code `CACHE_TIMEOUT`). The load carries on in the background and fills the cache when
 * it ends, so a later call may hit.
 *
 * @example
 * ```ts
 * import { CacheTimeoutError } from 'girder/cache';
 *
 * try {
 *   await products.getOrSet('p:1', load, { timeouts: { hardMs: 200 } });
 * } catch (err) {
 *   if (err instanceof CacheTimeoutError) reply.code(503);
 * }
 * ```
 */
export class CacheTimeoutError extends GirderError {
  /** The full key. */
  readonly key: string;
  /** The hard timeout that ran out, ms. */
  readonly timeoutMs: number;

  constructor(key: string, timeoutMs: number) {
    super('CACHE_TIMEOUT', `loading "${key}" took longer than ${timeoutMs} ms`);
    this.key = key;
    this.timeoutMs = timeoutMs;
  }
}
