// The in-process layer over lru-cache (an optional peer: this is the only file that
// imports it). Expiry is ours (freshUntil/staleUntil on the injected clock), so lru-cache
// only bounds the size; an entry past its grace is dropped on read.
import { LRUCache } from 'lru-cache';
import type { Entry } from './entry.js';
import type { L1Options } from './types.js';

/** @internal */
export class L1<V> {
  readonly #lru: LRUCache<string, Entry<V>>;
  readonly measures: boolean;

  constructor(options: L1Options) {
    this.measures = options.maxBytes !== undefined;
    this.#lru =
      options.maxBytes === undefined
        ? new LRUCache<string, Entry<V>>({ max: options.maxEntries })
        : new LRUCache<string, Entry<V>>({
            max: options.maxEntries,
            maxSize: options.maxBytes,
            sizeCalculation: (entry) => Math.max(1, entry.size),
          });
  }

  get(key: string): Entry<V> | undefined {
    return this.#lru.get(key);
  }

  set(key: string, entry: Entry<V>): void {
    this.#lru.set(key, entry);
  }

  delete(key: string): void {
    this.#lru.delete(key);
  }

  /** Drop the entries whose key matches. */
  deleteWhere(match: (key: string) => boolean): void {
    for (const key of [...this.#lru.keys()]) if (match(key)) this.#lru.delete(key);
  }

  /** Empty it; answers how many entries were dropped. */
  flush(): number {
    const n = this.#lru.size;
    this.#lru.clear();
    return n;
  }

  get size(): number {
    return this.#lru.size;
  }
}

/** @internal Byte estimate of a value (UTF-16 length of its JSON). */
export function estimateBytes(value: unknown): number {
  if (value === undefined) return 16;
  if (typeof value === 'string') return 2 * value.length + 16;
  try {
    return 2 * (JSON.stringify(value)?.length ?? 0) + 16;
  } catch {
    return 1024;
  }
}
