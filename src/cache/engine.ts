// The state one cache shares with its namespace views: layers, tag versions, the bus
// link, and the read/write/invalidate paths on full keys. Loads live in load.ts.
import { randomUUID } from 'node:crypto';
import { StoreFallback, TypedEmitter } from '../core/index.js';
import { SequenceTracker } from './bus-receiver.js';
import { type Entry, fromStored, TagVersions } from './entry.js';
import type { CacheEvents, CacheLayer } from './events.js';
import { estimateBytes, L1 } from './l1.js';
import type { ParsedCacheOptions } from './options.js';
import type { BusMessage, Serializer, StoredEntry } from './types.js';

/** @internal An entry found by a read, fresh or stale, and the layer it came from. */
export interface Found<V> {
  readonly entry: Entry<V>;
  readonly layer: CacheLayer;
}

/** @internal Per-write settings, already validated. */
export interface WriteSpec {
  readonly ttlMs: number;
  readonly graceMs: number;
  readonly tags: readonly string[] | undefined;
}

/** @internal */
export class Engine<V> {
  readonly options: ParsedCacheOptions;
  readonly events = new TypedEmitter<CacheEvents>();
  readonly instanceId = randomUUID();
  readonly l1: L1<V> | undefined;
  readonly tags = new TagVersions();
  readonly clock: ParsedCacheOptions['clock'];
  readonly serializer: Serializer<V>;
  readonly fallback: StoreFallback;
  /** Aborts when the cache closes: the signal every loader gets. */
  readonly closing = new AbortController();
  /**
   * Raised by every invalidation (local or from the bus). A read or load that started
   * before one must not put what it found into L1 (or L2): it may predate the change.
   */
  epoch = 0;
  #seq = 0;
  readonly #sequences = new SequenceTracker();
  readonly #unsubscribe: (() => void) | undefined;

  constructor(options: ParsedCacheOptions) {
    this.options = options;
    this.clock = options.clock;
    this.serializer = options.serializer as Serializer<V>;
    this.l1 = options.l1 === false ? undefined : new L1<V>(options.l1);
    this.fallback = new StoreFallback({
      mode: options.onStoreError,
      retryMs: options.storeRetryMs,
      clock: options.clock,
      events: this.events,
    });
    this.#unsubscribe = options.bus?.subscribe({
      message: (m) => this.#receive(m),
      reconnected: () => this.#flush('reconnect', undefined),
      error: (error) => this.events.emit('busError', { error }),
    });
  }

  // ---- reads ----

  /** L1's entry for `key` when still servable (fresh or within grace, tags valid). */
  fromL1(key: string, now: number): Entry<V> | undefined {
    const l1 = this.l1;
    if (l1 === undefined) return undefined;
    const entry = l1.get(key);
    if (entry === undefined) return undefined;
    if (now >= entry.staleUntil || !this.tags.valid(entry.tags, entry.tagVersions)) {
      l1.delete(key);
      return undefined;
    }
    return entry;
  }

  /**
   * Look `key` up in L1 then L2, emitting hit/miss per layer. Answers a fresh entry, or the
   * best stale one (within grace), or undefined.
   */
  async lookup(key: string): Promise<Found<V> | undefined> {
    const now = this.clock.now();
    const local = this.fromL1(key, now);
    if (local !== undefined && now < local.freshUntil) {
      this.#hit(key, 'l1', local);
      return { entry: local, layer: 'l1' };
    }
    if (this.l1 !== undefined) this.#miss(key, 'l1');
    if (this.options.l2 !== undefined) {
      const epoch = this.epoch;
      const [remote] = await this.readL2([key]);
      if (remote !== undefined) {
        const fresh = this.clock.now() < remote.freshUntil;
        if (fresh) this.#hit(key, 'l2', remote);
        else this.#miss(key, 'l2');
        if (this.epoch === epoch && (local === undefined || remote.freshUntil > local.freshUntil)) {
          this.l1?.set(key, remote);
        }
        if (fresh || local === undefined) return { entry: remote, layer: 'l2' };
      } else {
        this.#miss(key, 'l2');
      }
    }
    return local === undefined ? undefined : { entry: local, layer: 'l1' };
  }

  /**
   * Read `keys` from L2 (skipped while the store is bypassed), checking tag versions;
   * entries past grace or invalidated by a tag come back undefined.
   */
  async readL2(keys: readonly string[]): Promise<(Entry<V> | undefined)[]> {
    const store = this.options.l2;
    const none = () => keys.map(() => undefined);
    if (store === undefined) return none();
    const route = this.fallback.route();
    if (route === 'fallback') return none();
    let stored: (StoredEntry | undefined)[];
    try {
      stored = keys.length === 1 ? [await store.get(keys[0] as string)] : await store.getMany(keys);
      const tags = new Set<string>();
      for (const s of stored) for (const t of s?.tags ?? []) tags.add(t);
      if (tags.size > 0) {
        const list = [...tags];
        const versions = await store.tagVersions(list);
        for (let i = 0; i < list.length; i++) this.tags.raise(list[i] as string, versions[i] ?? 0);
      }
      this.fallback.succeeded(route);
    } catch (error) {
      this.storeFailed(keys[0] ?? '', error, route);
      return none();
    }
    const now = this.clock.now();
    const sizeOf = this.l1?.measures
      ? (s: StoredEntry) => 2 * (s.value?.length ?? 0) + 64
      : undefined;
    return stored.map((s, i) => {
      if (s === undefined || now >= s.staleUntil) return undefined;
      if (!this.tags.valid(s.tags, s.tagVersions)) return undefined;
      try {
        return fromStored(s, (text) => this.serializer.deserialize(text), sizeOf);
      } catch (error) {
        // An entry this serializer cannot read (format change, corruption) is a miss.
        this.events.emit('error', { key: keys[i] as string, error });
        return undefined;
      }
    });
  }

  /** An L2 call failed: an event, and a throw in `deny` mode. */
  storeFailed(key: string, error: unknown, route: 'store' | 'probe' | 'fallback'): void {
    this.fallback.failed(key, error, route);
    if (this.options.onStoreError === 'deny') throw error;
  }

  // ---- writes ----

  /** Build the entry a write stores (tag versions as this instance knows them now). */
  async entryFor(value: V | undefined, spec: WriteSpec): Promise<Entry<V>> {
    const now = this.clock.now();
    let tagVersions: number[] | undefined;
    if (spec.tags !== undefined && spec.tags.length > 0) {
      tagVersions = await this.#currentTagVersions(spec.tags);
    }
    return {
      value,
      freshUntil: now + spec.ttlMs,
      staleUntil: now + spec.ttlMs + spec.graceMs,
      tags: spec.tags !== undefined && spec.tags.length > 0 ? spec.tags : undefined,
      tagVersions,
      size: this.l1?.measures ? estimateBytes(value) + 64 : 0,
    };
  }

  async #currentTagVersions(tags: readonly string[]): Promise<number[]> {
    const store = this.options.l2;
    if (store !== undefined) {
      const route = this.fallback.route();
      if (route !== 'fallback') {
        try {
          const versions = await store.tagVersions(tags);
          this.fallback.succeeded(route);
          for (let i = 0; i < tags.length; i++)
            this.tags.raise(tags[i] as string, versions[i] ?? 0);
        } catch (error) {
          this.storeFailed(tags[0] ?? '', error, route);
        }
      }
    }
    return this.tags.snapshot(tags);
  }

  /** Store entries in L1 and L2 (one pipelined L2 write). */
  async write(items: readonly { key: string; entry: Entry<V> }[]): Promise<void> {
    for (const { key, entry } of items) this.l1?.set(key, entry);
    const store = this.options.l2;
    if (store === undefined) return;
    const route = this.fallback.route();
    if (route === 'fallback') return;
    const now = this.clock.now();
    const rows = items.map(({ key, entry }) => ({
      key,
      entry: this.#toStored(entry),
      storeTtlMs: Math.max(1, entry.staleUntil - now),
    }));
    try {
      if (rows.length === 1) {
        const row = rows[0] as (typeof rows)[number];
        await store.set(row.key, row.entry, row.storeTtlMs);
      } else {
        await store.setMany(rows);
      }
      this.fallback.succeeded(route);
    } catch (error) {
      this.storeFailed(items[0]?.key ?? '', error, route);
    }
  }

  #toStored(entry: Entry<V>): StoredEntry {
    return {
      value: entry.value === undefined ? undefined : this.serializer.serialize(entry.value),
      freshUntil: entry.freshUntil,
      staleUntil: entry.staleUntil,
      ...(entry.tags === undefined ? {} : { tags: entry.tags, tagVersions: entry.tagVersions }),
    };
  }

  // ---- invalidation ----

  async deleteKeys(keys: readonly string[]): Promise<void> {
    this.epoch++;
    for (const key of keys) this.l1?.delete(key);
    await this.#onL2(keys[0] ?? '', (store) => store.delete(keys));
    this.events.emit('invalidated', { scope: 'key', keys, source: 'local' });
    await this.publish({ op: 'delete', keys: [...keys] });
  }

  async deleteTag(tag: string): Promise<void> {
    this.epoch++;
    const floor = this.tags.get(tag) + 1;
    // Without a shared store, versions from different instances only meet on the bus:
    // starting from the clock keeps one instance's new version above another's old one.
    let version = this.options.l2 === undefined ? Math.max(floor, this.clock.now()) : floor;
    await this.#onL2(tag, async (store) => {
      version = await store.bumpTag(tag, floor, this.options.maxTtlMs);
    });
    this.tags.raise(tag, version);
    this.events.emit('invalidated', { scope: 'tag', tag, source: 'local' });
    await this.publish({ op: 'tag', tag, version });
  }

  /** Clear everything (`prefix` '') or one namespace's keys. */
  async clearAll(prefix: string): Promise<void> {
    this.epoch++;
    this.#clearL1(prefix);
    await this.#onL2(prefix, (store) => (prefix === '' ? store.clear() : store.clear(prefix)));
    this.events.emit('invalidated', {
      scope: 'all',
      ...(prefix === '' ? {} : { prefix }),
      source: 'local',
    });
    await this.publish(prefix === '' ? { op: 'clear' } : { op: 'clear', prefix });
  }

  #clearL1(prefix: string): void {
    if (prefix === '') this.l1?.flush();
    else this.l1?.deleteWhere((key) => key.startsWith(prefix));
  }

  async #onL2(
    key: string,
    call: (store: NonNullable<ParsedCacheOptions['l2']>) => Promise<unknown>,
  ): Promise<void> {
    const store = this.options.l2;
    if (store === undefined) return;
    const route = this.fallback.route();
    if (route === 'fallback') return;
    try {
      await call(store);
      this.fallback.succeeded(route);
    } catch (error) {
      this.storeFailed(key, error, route);
    }
  }

  // ---- bus ----

  /** Publish one message (numbered even if sending fails: receivers then see the gap). */
  async publish(body: Omit<BusMessage, 'from' | 'seq'>): Promise<void> {
    const bus = this.options.bus;
    if (bus === undefined) return;
    const message: BusMessage = { from: this.instanceId, seq: ++this.#seq, ...body };
    try {
      await bus.publish(message);
    } catch (error) {
      this.events.emit('busError', { error });
    }
  }

  #receive(message: BusMessage): void {
    if (message.from === this.instanceId) return;
    const receipt = this.#sequences.receive(message.from, message.seq);
    if (receipt === 'duplicate') return;
    this.epoch++;
    if (receipt === 'gap') this.#flush('gap', message.from);
    switch (message.op) {
      case 'delete':
        for (const key of message.keys ?? []) this.l1?.delete(key);
        this.events.emit('invalidated', { scope: 'key', keys: message.keys ?? [], source: 'bus' });
        break;
      case 'tag':
        if (message.tag !== undefined) this.tags.raise(message.tag, message.version ?? 0);
        this.events.emit('invalidated', { scope: 'tag', tag: message.tag, source: 'bus' });
        break;
      case 'clear':
        this.#clearL1(message.prefix ?? '');
        this.events.emit('invalidated', {
          scope: 'all',
          ...(message.prefix === undefined ? {} : { prefix: message.prefix }),
          source: 'bus',
        });
        break;
    }
  }

  #flush(reason: 'gap' | 'reconnect', sender: string | undefined): void {
    this.epoch++;
    const entries = this.l1?.flush() ?? 0;
    this.events.emit('flushed', { reason, entries, ...(sender === undefined ? {} : { sender }) });
  }

  // ---- events ----

  #hit(key: string, layer: CacheLayer, entry: Entry<V>): void {
    if (this.events.has('hit'))
      this.events.emit('hit', { key, layer, negative: entry.value === undefined });
  }

  #miss(key: string, layer: CacheLayer): void {
    if (this.events.has('miss')) this.events.emit('miss', { key, layer });
  }

  /** Emit `hit` for an L1 fast-path hit. */
  hitL1(key: string, entry: Entry<V>): void {
    this.#hit(key, 'l1', entry);
  }

  close(): void {
    this.#unsubscribe?.();
    this.closing.abort();
  }
}
