// What L1 keeps per key, and the checks every read makes. L1 keeps the value itself (no
// serialization on an L1 hit); L2 keeps a StoredEntry whose value is serialized.
import type { StoredEntry } from './types.js';

/** @internal One cached entry as L1 keeps it. */
export interface Entry<V> {
  /** The value; `undefined` marks a negative ("not found") entry. */
  readonly value: V | undefined;
  readonly freshUntil: number;
  readonly staleUntil: number;
  readonly tags: readonly string[] | undefined;
  readonly tagVersions: readonly number[] | undefined;
  /** Bytes estimate for lru-cache's maxSize (0 when maxBytes is not set). */
  readonly size: number;
}

/** @internal Tag versions known to this instance (raised by deleteByTag, the bus and L2 reads). */
export class TagVersions {
  readonly #versions = new Map<string, number>();

  get(tag: string): number {
    return this.#versions.get(tag) ?? 0;
  }

  /** Raise `tag` to at least `version`. */
  raise(tag: string, version: number): void {
    if (version > (this.#versions.get(tag) ?? 0)) this.#versions.set(tag, version);
  }

  /** Whether an entry written with `versions` of `tags` is still valid. */
  valid(tags: readonly string[] | undefined, versions: readonly number[] | undefined): boolean {
    if (tags === undefined) return true;
    for (let i = 0; i < tags.length; i++) {
      const known = this.#versions.get(tags[i] as string);
      if (known !== undefined && known > (versions?.[i] ?? 0)) return false;
    }
    return true;
  }

  /** Current versions of `tags`, as a new entry should carry them. */
  snapshot(tags: readonly string[]): number[] {
    return tags.map((t) => this.get(t));
  }

  clear(): void {
    this.#versions.clear();
  }
}

/** @internal An L2 entry to an L1 one. */
export function fromStored<V>(
  stored: StoredEntry,
  deserialize: (text: string) => V,
  sizeOf: ((e: StoredEntry) => number) | undefined,
): Entry<V> {
  return {
    value: stored.value === undefined ? undefined : deserialize(stored.value),
    freshUntil: stored.freshUntil,
    staleUntil: stored.staleUntil,
    tags: stored.tags,
    tagVersions: stored.tagVersions,
    size: sizeOf === undefined ? 0 : sizeOf(stored),
  };
}

// The Redis text of an entry: a JSON header `[freshUntil, staleUntil, tags, tagVersions]`,
// then (for a positive entry) a newline and the serialized value as it is. The value is
// not embedded in the JSON: that would escape it on write and parse it twice on every
// read (once as a JSON string, once by the serializer). JSON.stringify never writes a
// raw newline, so the first one ends the header. Entries of the earlier format (one JSON
// array of five, the value a string inside it) are still read.

/** @internal Encode a StoredEntry as one string (for Redis). */
export function encodeStored(entry: StoredEntry): string {
  const header = JSON.stringify([
    entry.freshUntil,
    entry.staleUntil,
    entry.tags ?? null,
    entry.tagVersions ?? null,
  ]);
  return entry.value === undefined ? header : `${header}\n${entry.value}`;
}

/** @internal Decode what {@link encodeStored} wrote; `undefined` for anything else. */
export function decodeStored(text: unknown): StoredEntry | undefined {
  if (typeof text !== 'string') return undefined;
  const end = text.indexOf('\n');
  let parsed: unknown;
  try {
    parsed = JSON.parse(end < 0 ? text : text.slice(0, end));
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed)) return undefined;
  let value: string | undefined;
  let rest: unknown[];
  if (parsed.length === 4) {
    value = end < 0 ? undefined : text.slice(end + 1);
    rest = parsed;
  } else if (parsed.length === 5 && end < 0) {
    const [freshUntil, staleUntil, old, tags, tagVersions] = parsed as unknown[];
    value = typeof old === 'string' ? old : undefined;
    rest = [freshUntil, staleUntil, tags, tagVersions];
  } else {
    return undefined;
  }
  const [freshUntil, staleUntil, tags, tagVersions] = rest;
  if (typeof freshUntil !== 'number' || typeof staleUntil !== 'number') return undefined;
  return {
    value,
    freshUntil,
    staleUntil,
    ...(Array.isArray(tags) ? { tags: tags as string[] } : {}),
    ...(Array.isArray(tagVersions) ? { tagVersions: tagVersions as number[] } : {}),
  };
}
