// The public contract of girder/cache: the Cache interface, its options, events, and the
// two pluggable backends (an L2 store and an invalidation bus).
import type { Clock, EventSource } from '../core/index.js';
import type { Locker } from '../lock/index.js';
import type { CacheEvents } from './events.js';

/**
 * Turns values into strings for the L2 store and back. It must round-trip: `deserialize(serialize(v))`
 * must equal `v` for every value you cache. L1 never serializes (it keeps the values themselves).
 *
 * @example
 * ```ts
 * import type { Serializer } from 'girder/cache';
 *
 * const dates: Serializer<Date> = {
 *   serialize: (d) => d.toISOString(),
 *   deserialize: (s) => new Date(s),
 * };
 * ```
 */
export interface Serializer<V> {
  /** Value to string. */
  serialize(value: V): string;
  /** String (as produced by `serialize`) back to a value. */
  deserialize(text: string): V;
}

/**
 * One cache entry as L2 stores it: the serialized value plus its metadata.
 *
 * @example
 * ```ts
 * import type { StoredEntry } from 'girder/cache';
 *
 * const entry: StoredEntry = { value: '{"id":1}', freshUntil: 1_000, staleUntil: 2_000 };
 * ```
 */
export interface StoredEntry {
  /** Serialized value; `undefined` for a negative ("not found") entry. */
  value: string | undefined;
  /** Epoch ms (writer's clock) until which the entry is fresh. */
  freshUntil: number;
  /** Epoch ms until which it may still be served stale (`freshUntil` + grace). */
  staleUntil: number;
  /** Tags the entry was written with. */
  tags?: readonly string[];
  /** Version of each tag (same order as `tags`) when the entry was written. */
  tagVersions?: readonly number[];
}

/**
 * The L2 layer: a shared store of {@link StoredEntry}s and tag versions. Built by
 * `redisCacheStore` or `memoryCacheStore`; implement it to plug another store. Keys
 * passed in are the cache's full keys (namespace included); the store adds its prefix.
 *
 * @example
 * ```ts
 * import { cache, memoryCacheStore } from 'girder/cache';
 *
 * const products = cache<{ name: string }>({ l1: false, l2: memoryCacheStore(), ttlMs: 60_000 });
 * ```
 */
export interface CacheStore {
  /** `memory`, `redis`, or your own. */
  readonly kind: string;
  /** Read one entry (`undefined` when absent). */
  get(key: string): Promise<StoredEntry | undefined>;
  /** Read many entries in one round trip where the store can (same order as `keys`). */
  getMany(keys: readonly string[]): Promise<(StoredEntry | undefined)[]>;
  /** Write one entry; the store drops it after `storeTtlMs`. */
  set(key: string, entry: StoredEntry, storeTtlMs: number): Promise<void>;
  /** Write many entries in one round trip where the store can. */
  setMany(items: readonly { key: string; entry: StoredEntry; storeTtlMs: number }[]): Promise<void>;
  /** Remove entries. */
  delete(keys: readonly string[]): Promise<void>;
  /** Current versions of `tags` (0 for a tag never invalidated). */
  tagVersions(tags: readonly string[]): Promise<number[]>;
  /**
   * Invalidate a tag: raise its version (to at least `floor`) and keep it for `keepMs`.
   * Resolves with the new version.
   */
  bumpTag(tag: string, floor: number, keepMs: number): Promise<number>;
  /**
   * Remove every entry whose key starts with `keyPrefix`; without it, every entry and tag
   * version under this store's prefix.
   */
  clear(keyPrefix?: string): Promise<void>;
  /** Release what the store owns (never the user's client). */
  close(): Promise<void>;
}

/**
 * What the bus carries: one invalidation from one cache instance. `seq` counts the
 * sender's messages from 1 with no holes, so a receiver can tell it missed one.
 *
 * @example
 * ```ts
 * import type { BusMessage } from 'girder/cache';
 *
 * const msg: BusMessage = { from: 'a1b2', seq: 7, op: 'delete', keys: ['product:1'] };
 * ```
 */
export interface BusMessage {
  /** The sender's `instanceId`. */
  from: string;
  /** The sender's sequence number, 1, 2, 3... */
  seq: number;
  /** `delete` (keys changed or removed), `tag` (a tag invalidated), `clear` (everything, or a namespace). */
  op: 'delete' | 'tag' | 'clear';
  /** Full keys, for `delete`. */
  keys?: string[];
  /** The tag, for `tag`. */
  tag?: string;
  /** The tag's new version, for `tag`. */
  version?: number;
  /** For `clear` of a namespace: the key prefix cleared (absent: everything). */
  prefix?: string;
}

/**
 * Handlers a cache registers on a bus.
 *
 * @example
 * ```ts
 * import type { BusHandlers } from 'girder/cache';
 *
 * const handlers: BusHandlers = { message: (m) => console.log(m.op), reconnected: () => {} };
 * ```
 */
export interface BusHandlers {
  /** A message arrived (including the subscriber's own; the cache ignores those). */
  message(message: BusMessage): void;
  /** The subscription was lost and is back: messages may have been missed. */
  reconnected(): void;
  /** Publishing or subscribing failed. */
  error?(error: unknown): void;
}

/**
 * The invalidation bus linking cache instances: `redisBus` (Redis pub/sub) or
 * `memoryBus` (instances in one process). One bus object may serve several caches.
 *
 * @example
 * ```ts
 * import { cache, memoryBus } from 'girder/cache';
 *
 * const bus = memoryBus();
 * const a = cache({ l1: { maxEntries: 1_000 }, bus, ttlMs: 60_000 });
 * const b = cache({ l1: { maxEntries: 1_000 }, bus, ttlMs: 60_000 });
 * ```
 */
export interface CacheBus {
  /** `memory`, `redis`, or your own. */
  readonly kind: string;
  /** Send a message to every subscriber. */
  publish(message: BusMessage): Promise<void>;
  /** Register handlers; returns the unsubscribe function. */
  subscribe(handlers: BusHandlers): () => void;
  /**
   * Resolves once the subscription is live (messages published from then on arrive).
   * Optional: a bus without it is live as soon as `subscribe` returns.
   */
  ready?(): Promise<void>;
  /** Stop (unsubscribe, drop the subscriber connection the bus opened). */
  close(): Promise<void>;
}

/**
 * What a loader receives.
 *
 * @example
 * ```ts
 * const product = await products.getOrSet('p:1', ({ signal }) => db.find(1, { signal }));
 * ```
 */
export interface LoaderContext {
  /** Aborts when the cache closes. A caller giving up does not abort a shared load. */
  signal: AbortSignal;
  /** The key being loaded (without the namespace). */
  key: string;
}

/**
 * A loader: the value for the key, or `undefined` for "not found" (cached as a negative
 * entry for `negativeTtlMs`).
 *
 * @example
 * ```ts
 * import type { Loader } from 'girder/cache';
 *
 * const load: Loader<string> = async ({ key }) => (key === 'a' ? 'A' : undefined);
 * ```
 */
export type Loader<V> = (context: LoaderContext) => Promise<V | undefined> | V | undefined;

/**
 * Soft and hard timeouts of `getOrSet`, ms.
 *
 * @example
 * ```ts
 * const opts = { timeouts: { softMs: 50, hardMs: 2_000 } };
 * ```
 */
export interface CacheTimeouts {
  /**
   * With a stale entry at hand, how long to wait for the loader before serving the stale
   * value (the load carries on in the background). 0 (default): serve stale at once
   * (stale-while-revalidate).
   */
  softMs?: number;
  /**
   * With nothing to serve, how long to wait for the loader before throwing
   * `CacheTimeoutError` (the load carries on and fills the cache). 0 (default): no limit.
   */
  hardMs?: number;
}

/**
 * Options of `set` / `setMany`.
 *
 * @example
 * ```ts
 * await products.set('p:1', product, { ttlMs: 30_000, tags: ['catalog'] });
 * ```
 */
export interface SetOptions {
  /** Freshness of this entry, ms. Default: the cache's `ttlMs`. */
  ttlMs?: number;
  /** Grace after `ttlMs` during which it may be served stale, ms. Default: the cache's `graceMs`. */
  graceMs?: number;
  /** Tags; `deleteByTag(tag)` invalidates every entry carrying it. */
  tags?: readonly string[];
}

/**
 * Options of `getOrSet`.
 *
 * @example
 * ```ts
 * await products.getOrSet('p:1', load, { ttlMs: 5_000, timeouts: { hardMs: 500 } });
 * ```
 */
export interface GetOrSetOptions extends SetOptions {
  /** Override the cache's timeouts for this call. */
  timeouts?: CacheTimeouts;
  /** Stop waiting (rejects with `AbortedError`); a shared load carries on for others. */
  signal?: AbortSignal;
}

/**
 * Options of {@link cache}.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import { cache, redisBus, redisCacheStore } from 'girder/cache';
 *
 * const redis = new Redis({ enableAutoPipelining: true });
 * const options: CacheOptions = {
 *   name: 'products',
 *   l1: { maxEntries: 10_000 },
 *   l2: redisCacheStore(redis, { prefix: 'shop:cache' }),
 *   bus: redisBus(redis, { channel: 'shop:cache:bus' }),
 *   ttlMs: 60_000,
 *   graceMs: 300_000,
 * };
 * ```
 */
export interface CacheOptions<V = unknown> {
  /** Labels events and metrics. Default `'cache'`. */
  name?: string;
  /** The in-process layer, or `false` for none. Default `{ maxEntries: 10_000 }`. */
  l1?: L1Options | false;
  /** The shared layer. Default: none. */
  l2?: CacheStore;
  /** The invalidation bus linking instances' L1s. Default: none. */
  bus?: CacheBus;
  /** Default freshness, ms. Default 60 000. */
  ttlMs?: number;
  /** Default grace after the TTL (stale served while refreshing), ms. Default 0. */
  graceMs?: number;
  /** How long a "not found" is remembered, ms. Default 5 000; 0 turns negative caching off. */
  negativeTtlMs?: number;
  /** Default soft/hard timeouts of `getOrSet`. */
  timeouts?: CacheTimeouts;
  /** Upper bound of any entry's `ttlMs + graceMs`, ms; tag versions are kept this long. Default 7 days. */
  maxTtlMs?: number;
  /** L2 serializer. Default JSON. */
  serializer?: Serializer<V>;
  /** Time source. Default `systemClock`. */
  clock?: Clock;
  /** `'local'` (default): per-instance dedup of loads; `'cluster'`: one load across instances via `locker`. */
  singleflight?: 'local' | 'cluster';
  /** The locker for `singleflight: 'cluster'` (e.g. `redisLock`). */
  locker?: Locker;
  /** How long an instance waits for another instance's load (cluster singleflight), ms. Default 5 000. */
  lockWaitMs?: number;
  /** What an L2 failure does: `'local'` (default) carries on with L1 and the loader; `'deny'` throws it. */
  onStoreError?: 'local' | 'deny';
  /** After an L2 failure, how long to skip L2 before probing it again, ms. Default 1 000. */
  storeRetryMs?: number;
  /**
   * After a key's loader fails while a stale value of it can be served, how long reads
   * serve that stale value without calling the loader again (on `clock`), ms, so a failing
   * backend is not called on every read. Default 1 000; 0 retries on every read.
   */
  refreshBackoffMs?: number;
}

/**
 * The L1 (in-process, lru-cache) layer's size limits.
 *
 * @example
 * ```ts
 * const l1 = { maxEntries: 10_000, maxBytes: 64 * 1024 * 1024 };
 * ```
 */
export interface L1Options {
  /** Most entries kept; the least recently used goes first. */
  maxEntries: number;
  /** Most bytes kept (estimated with JSON length x 2), when set. */
  maxBytes?: number;
}

/**
 * A two-level cache. Every method takes the caller's key (non-empty string); a
 * `namespace` view prefixes it.
 *
 * @example
 * ```ts
 * import { cache } from 'girder/cache';
 *
 * const users = cache<{ name: string }>({ ttlMs: 30_000, graceMs: 60_000 });
 * const user = await users.getOrSet('u:1', async () => db.user(1));
 * await users.delete('u:1');
 * ```
 */
export interface Cache<V> extends AsyncDisposable {
  /** From the `name` option. */
  readonly name: string;
  /** Random id of this instance, carried on its bus messages. */
  readonly instanceId: string;
  /** Typed events. */
  readonly events: EventSource<CacheEvents>;
  /** The fresh value, or `undefined` (absent, expired, negative). Never calls a loader. */
  get(key: string): Promise<V | undefined>;
  /** Values for many keys (L2 read pipelined), same order. */
  getMany(keys: readonly string[]): Promise<(V | undefined)[]>;
  /** Whether a fresh value (not a negative entry) is cached. */
  has(key: string): Promise<boolean>;
  /** Store a value in every layer and tell other instances to drop their L1 copy. */
  set(key: string, value: V, options?: SetOptions): Promise<void>;
  /** Store many values (L2 write pipelined). */
  setMany(items: readonly { key: string; value: V; options?: SetOptions }[]): Promise<void>;
  /** The cached value, or the loader's, stored for next time. See the guide for timeouts and grace. */
  getOrSet(key: string, loader: Loader<V>, options?: GetOrSetOptions): Promise<V | undefined>;
  /** Remove keys from every layer and every instance's L1. */
  delete(key: string | readonly string[]): Promise<void>;
  /** Make every entry tagged `tag` unservable, even as stale, on every instance. */
  deleteByTag(tag: string): Promise<void>;
  /**
   * Remove every entry on every instance: all of them on the root cache, the namespace's
   * on a `namespace()` view. Tag versions are kept, except by the root's clear.
   */
  clear(): Promise<void>;
  /** A view whose keys are prefixed with `prefix + ':'`; shares layers, events and bus. */
  namespace(prefix: string): Cache<V>;
  /** Stop the bus subscription and timers; abort running loaders. Does not close your clients. */
  close(): Promise<void>;
}

export type { CacheEvents, CacheLayer } from './events.js';
