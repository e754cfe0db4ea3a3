import { z } from 'zod';
import { type Clock, clockSchema, parseOptions, systemClock } from '../core/index.js';
import type { CacheStore, StoredEntry } from './types.js';

/**
 * Options of {@link memoryCacheStore}.
 *
 * @example
 * ```ts
 * import { memoryCacheStore } from 'girder/cache';
 *
 * const store = memoryCacheStore({ clock: manualClock() });
 * ```
 */
export interface MemoryCacheStoreOptions {
  /** Time source for the store's own expiry. Default `systemClock`. */
  clock?: Clock;
}

const schema = z.strictObject({ clock: clockSchema.default(systemClock) });

/**
 * An L2 store in process memory: for tests, and to run the L2 code path without Redis.
 * Shared by every cache given the same object. Entries expire on its clock.
 *
 * @example
 * ```ts
 * import { cache, memoryCacheStore } from 'girder/cache';
 *
 * const l2 = memoryCacheStore();
 * const a = cache({ l1: false, l2, ttlMs: 1_000 });
 * ```
 */
export function memoryCacheStore(options: MemoryCacheStoreOptions = {}): CacheStore {
  const { clock } = parseOptions('memoryCacheStore', schema, options);
  const entries = new Map<string, { entry: StoredEntry; until: number }>();
  const tags = new Map<string, { version: number; until: number }>();
  const read = (key: string) => {
    const found = entries.get(key);
    if (found === undefined) return undefined;
    if (found.until <= clock.now()) {
      entries.delete(key);
      return undefined;
    }
    return found.entry;
  };
  const write = (key: string, entry: StoredEntry, ttlMs: number) => {
    entries.set(key, { entry, until: clock.now() + ttlMs });
  };
  return {
    kind: 'memory',
    get: async (key) => read(key),
    getMany: async (keys) => keys.map(read),
    set: async (key, entry, ttlMs) => write(key, entry, ttlMs),
    setMany: async (items) => {
      for (const item of items) write(item.key, item.entry, item.storeTtlMs);
    },
    delete: async (keys) => {
      for (const key of keys) entries.delete(key);
    },
    tagVersions: async (list) =>
      list.map((tag) => {
        const found = tags.get(tag);
        return found !== undefined && found.until > clock.now() ? found.version : 0;
      }),
    bumpTag: async (tag, floor, keepMs) => {
      const found = tags.get(tag);
      const current = found !== undefined && found.until > clock.now() ? found.version : 0;
      const version = Math.max(current + 1, floor);
      tags.set(tag, { version, until: clock.now() + keepMs });
      return version;
    },
    clear: async (keyPrefix) => {
      if (keyPrefix !== undefined) {
        for (const key of [...entries.keys()]) if (key.startsWith(keyPrefix)) entries.delete(key);
        return;
      }
      entries.clear();
      tags.clear();
    },
    close: async () => {},
  };
}
