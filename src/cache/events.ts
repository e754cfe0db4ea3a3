// Every event a cache emits, with the meaning of each field (girder/observability maps them).
import type { StoreFallbackEvents } from '../core/index.js';

/** Cache layers as events name them. */
export type CacheLayer = 'l1' | 'l2';

/**
 * Events of a cache (`cache.events`). Keys in payloads are the caller's keys with the
 * namespace prefix (the full key).
 *
 * @example
 * ```ts
 * products.events.on('load', ({ key, durationMs, outcome }) => console.log(key, outcome, durationMs));
 * ```
 */
export type CacheEvents = StoreFallbackEvents & {
  /** A fresh value (or fresh negative entry) was found in `layer`. One event per key read. */
  hit: {
    /** Full key. */
    key: string;
    /** Where it was found. */
    layer: CacheLayer;
    /** True when the entry is a negative ("not found") one. */
    negative: boolean;
  };
  /** `layer` had no servable fresh entry. A read that misses L1 then hits L2 emits `miss(l1)` then `hit(l2)`. */
  miss: {
    /** Full key. */
    key: string;
    /** The layer that missed. */
    layer: CacheLayer;
  };
  /** A stale value was served (its TTL passed, its grace not). */
  stale: {
    /** Full key. */
    key: string;
    /** Layer the stale entry came from. */
    layer: CacheLayer;
    /**
     * Why: `grace` (served at once while refreshing), `softTimeout` (the loader was slower
     * than `softMs`), `loaderError` (fail-safe: the loader failed).
     */
    reason: 'grace' | 'softTimeout' | 'loaderError';
  };
  /** A loader call ended. */
  load: {
    /** Full key. */
    key: string;
    /** How long the loader ran, ms. */
    durationMs: number;
    /** `value`, `notFound` (negative), or `error`. */
    outcome: 'value' | 'notFound' | 'error';
    /** True when no caller waited for it (a grace refresh or a load past a timeout). */
    background: boolean;
  };
  /**
   * A loader failed (also counted in `load` with outcome `error`), or an L2 entry could not
   * be deserialized (then read as a miss).
   */
  error: {
    /** Full key. */
    key: string;
    /** The loader's (or serializer's) error. */
    error: unknown;
  };
  /** Entries were invalidated. */
  invalidated: {
    /** `key` (keys changed/removed), `tag`, or `all` (clear). */
    scope: 'key' | 'tag' | 'all';
    /** The keys, for `key`. */
    keys?: readonly string[];
    /** The tag, for `tag`. */
    tag?: string;
    /** For `all` on a namespace view: the namespace's key prefix (absent: everything). */
    prefix?: string;
    /** `local` (this instance's call) or `bus` (another instance's message). */
    source: 'local' | 'bus';
  };
  /** The whole L1 was emptied because bus messages may have been missed. */
  flushed: {
    /** `gap` (a sender's sequence skipped) or `reconnect` (the subscription was lost). */
    reason: 'gap' | 'reconnect';
    /** Entries dropped. */
    entries: number;
    /** The sender whose gap was seen, for `gap`. */
    sender?: string;
  };
  /** A bus publish or subscription failed (L1s elsewhere may be stale until their gap check or TTL). */
  busError: {
    /** The bus' error. */
    error: unknown;
  };
  /** Cluster singleflight could not coordinate (lock wait ran out or the locker failed) and loaded locally. */
  lockFallback: {
    /** Full key. */
    key: string;
    /** The locker's error. */
    error: unknown;
  };
};
