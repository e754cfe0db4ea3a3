// The cache() factory and the Cache view. A view is a key prefix over one Engine, so
// namespaces share layers, events and the bus. The L1 hit path of get/getOrSet is kept
// synchronous up to the returned promise: one Map lookup, one clock read, no await.

import type { EventSource } from '../core/index.js';
import { checkSignal, InvalidArgumentError, parseOptions, throwIfAborted } from '../core/index.js';
import { Engine, type WriteSpec } from './engine.js';
import type { CacheEvents } from './events.js';
import { Loads } from './load.js';
import { cacheSchema } from './options.js';
import type {
  Cache,
  CacheOptions,
  CacheTimeouts,
  GetOrSetOptions,
  Loader,
  SetOptions,
} from './types.js';

function checkKey(key: unknown, argument = 'key'): asserts key is string {
  if (typeof key !== 'string' || key.length === 0) {
    throw new InvalidArgumentError(argument, 'must be a non-empty string');
  }
}

function checkKeys(keys: unknown): asserts keys is readonly string[] {
  if (!Array.isArray(keys)) throw new InvalidArgumentError('keys', 'must be an array of keys');
  for (const key of keys) checkKey(key, 'keys');
}

/** A bad key as a rejection (the non-async methods never throw synchronously). */
function rejectKey(): Promise<never> {
  return Promise.reject(new InvalidArgumentError('key', 'must be a non-empty string'));
}

/** A getOrSet call's validated options. */
interface Call {
  readonly spec: WriteSpec;
  readonly timeouts: Required<CacheTimeouts>;
  readonly signal: AbortSignal | undefined;
}

class CacheView<V> implements Cache<V> {
  readonly #engine: Engine<V>;
  readonly #loads: Loads<V>;
  readonly #prefix: string;
  readonly #defaultCall: Call;

  constructor(engine: Engine<V>, loads: Loads<V>, prefix: string) {
    this.#engine = engine;
    this.#loads = loads;
    this.#prefix = prefix;
    const o = engine.options;
    this.#defaultCall = {
      spec: { ttlMs: o.ttlMs, graceMs: o.graceMs, tags: undefined },
      timeouts: o.timeouts,
      signal: undefined,
    };
  }

  get name(): string {
    return this.#engine.options.name;
  }

  get instanceId(): string {
    return this.#engine.instanceId;
  }

  get events(): EventSource<CacheEvents> {
    return this.#engine.events;
  }

  #spec(options: SetOptions | undefined, argument: string): WriteSpec {
    const o = this.#engine.options;
    if (options === undefined) return { ttlMs: o.ttlMs, graceMs: o.graceMs, tags: undefined };
    if (typeof options !== 'object' || options === null) {
      throw new InvalidArgumentError(argument, 'must be an options object');
    }
    const ttlMs = options.ttlMs ?? o.ttlMs;
    const graceMs = options.graceMs ?? o.graceMs;
    if (!Number.isInteger(ttlMs) || ttlMs < 1) {
      throw new InvalidArgumentError(`${argument}.ttlMs`, 'must be an integer >= 1');
    }
    if (!Number.isInteger(graceMs) || graceMs < 0) {
      throw new InvalidArgumentError(`${argument}.graceMs`, 'must be an integer >= 0');
    }
    if (ttlMs + graceMs > o.maxTtlMs) {
      throw new InvalidArgumentError(
        argument,
        `ttlMs + graceMs must be at most maxTtlMs (${o.maxTtlMs})`,
      );
    }
    const tags = options.tags;
    if (tags !== undefined) {
      if (!Array.isArray(tags))
        throw new InvalidArgumentError(`${argument}.tags`, 'must be an array');
      for (const tag of tags) checkKey(tag, `${argument}.tags`);
    }
    return {
      ttlMs,
      graceMs,
      tags: tags === undefined || tags.length === 0 ? undefined : [...tags],
    };
  }

  get(key: string): Promise<V | undefined> {
    if (typeof key !== 'string' || key.length === 0) return rejectKey();
    const engine = this.#engine;
    const full = this.#prefix + key;
    const entry = engine.l1?.get(full);
    if (
      entry !== undefined &&
      engine.clock.now() < entry.freshUntil &&
      (entry.tags === undefined || engine.tags.valid(entry.tags, entry.tagVersions))
    ) {
      engine.hitL1(full, entry);
      return Promise.resolve(entry.value);
    }
    return engine
      .lookup(full)
      .then((found) =>
        found !== undefined && engine.clock.now() < found.entry.freshUntil
          ? found.entry.value
          : undefined,
      );
  }

  async getMany(keys: readonly string[]): Promise<(V | undefined)[]> {
    checkKeys(keys);
    const engine = this.#engine;
    const now = engine.clock.now();
    const full = keys.map((k) => this.#prefix + k);
    const out: (V | undefined)[] = new Array(keys.length).fill(undefined);
    const missing: number[] = [];
    full.forEach((key, i) => {
      const entry = engine.fromL1(key, now);
      if (entry !== undefined && now < entry.freshUntil) {
        engine.hitL1(key, entry);
        out[i] = entry.value;
      } else {
        if (engine.l1 !== undefined && engine.events.has('miss'))
          engine.events.emit('miss', { key, layer: 'l1' });
        missing.push(i);
      }
    });
    if (missing.length === 0 || engine.options.l2 === undefined) return out;
    const epoch = engine.epoch;
    const found = await engine.readL2(missing.map((i) => full[i] as string));
    const later = engine.clock.now();
    missing.forEach((i, j) => {
      const entry = found[j];
      const key = full[i] as string;
      if (entry === undefined || later >= entry.freshUntil) {
        if (engine.events.has('miss')) engine.events.emit('miss', { key, layer: 'l2' });
        return;
      }
      if (engine.events.has('hit'))
        engine.events.emit('hit', { key, layer: 'l2', negative: entry.value === undefined });
      if (engine.epoch === epoch) engine.l1?.set(key, entry);
      out[i] = entry.value;
    });
    return out;
  }

  async has(key: string): Promise<boolean> {
    return (await this.get(key)) !== undefined;
  }

  async set(key: string, value: V, options?: SetOptions): Promise<void> {
    checkKey(key);
    if (value === undefined)
      throw new InvalidArgumentError('value', 'must not be undefined (use delete)');
    const spec = this.#spec(options, 'options');
    const engine = this.#engine;
    const full = this.#prefix + key;
    engine.epoch++; // loads and reads running now must not overwrite this value
    const entry = await engine.entryFor(value, spec);
    await engine.write([{ key: full, entry }]);
    await engine.publish({ op: 'delete', keys: [full] });
  }

  async setMany(items: readonly { key: string; value: V; options?: SetOptions }[]): Promise<void> {
    if (!Array.isArray(items)) throw new InvalidArgumentError('items', 'must be an array');
    const specs = items.map((item, i) => {
      if (typeof item !== 'object' || item === null)
        throw new InvalidArgumentError(`items[${i}]`, 'must be { key, value }');
      checkKey(item.key, `items[${i}].key`);
      if (item.value === undefined)
        throw new InvalidArgumentError(`items[${i}].value`, 'must not be undefined');
      return this.#spec(item.options, `items[${i}].options`);
    });
    if (items.length === 0) return;
    const engine = this.#engine;
    engine.epoch++;
    const rows = await Promise.all(
      items.map(async (item, i) => ({
        key: this.#prefix + item.key,
        entry: await engine.entryFor(item.value, specs[i] as WriteSpec),
      })),
    );
    await engine.write(rows);
    await engine.publish({ op: 'delete', keys: rows.map((r) => r.key) });
  }

  getOrSet(key: string, loader: Loader<V>, options?: GetOrSetOptions): Promise<V | undefined> {
    if (typeof key !== 'string' || key.length === 0) return rejectKey();
    if (typeof loader !== 'function') {
      return Promise.reject(new InvalidArgumentError('loader', 'must be a function'));
    }
    // Options are checked before the hit path (bad input never succeeds silently); a call
    // without options pays nothing for it.
    let call: Call;
    if (options === undefined) {
      call = this.#defaultCall;
    } else {
      try {
        call = this.#call(options);
      } catch (error) {
        return Promise.reject(error);
      }
    }
    const engine = this.#engine;
    const full = this.#prefix + key;
    const entry = engine.l1?.get(full);
    if (
      entry !== undefined &&
      engine.clock.now() < entry.freshUntil &&
      (entry.tags === undefined || engine.tags.valid(entry.tags, entry.tagVersions))
    ) {
      engine.hitL1(full, entry);
      return Promise.resolve(entry.value);
    }
    return this.#getOrLoad(key, full, loader, call);
  }

  #call(options: GetOrSetOptions): Call {
    if (typeof options !== 'object' || options === null) {
      throw new InvalidArgumentError('options', 'must be an options object');
    }
    const signal = checkSignal(options.signal, 'options.signal');
    throwIfAborted(signal);
    return {
      spec: this.#spec(options, 'options'),
      timeouts: this.#timeouts(options.timeouts),
      signal,
    };
  }

  async #getOrLoad(
    key: string,
    full: string,
    loader: Loader<V>,
    call: Call,
  ): Promise<V | undefined> {
    const { spec, timeouts, signal } = call;
    const engine = this.#engine;
    const found = await engine.lookup(full);
    if (found !== undefined && engine.clock.now() < found.entry.freshUntil)
      return found.entry.value;
    const loads = this.#loads;
    if (found === undefined) {
      return loads.waitHard(full, loads.flight(full, key, loader, spec), timeouts, signal);
    }
    // A stale entry within grace: serve it unless the load answers within softMs.
    const stale = found.entry.value;
    const emitStale = (reason: 'grace' | 'softTimeout' | 'loaderError') =>
      engine.events.emit('stale', { key: full, layer: found.layer, reason });
    if (loads.backingOff(full)) {
      emitStale('loaderError'); // the loader failed moments ago: do not call it again yet
      return stale;
    }
    const flight = loads.flight(full, key, loader, spec);
    if (timeouts.softMs === 0) {
      emitStale('grace');
      return stale;
    }
    try {
      const outcome = await loads.wait(flight, timeouts.softMs, signal);
      if (outcome.done) return outcome.value;
      emitStale('softTimeout');
      return stale;
    } catch (error) {
      if (signal?.aborted) throw error;
      emitStale('loaderError'); // fail-safe: the loader failed, the stale value stands
      return stale;
    }
  }

  #timeouts(override: CacheTimeouts | undefined): Required<CacheTimeouts> {
    const base = this.#engine.options.timeouts;
    if (override === undefined) return base;
    const softMs = override.softMs ?? base.softMs;
    const hardMs = override.hardMs ?? base.hardMs;
    for (const [name, v] of [
      ['softMs', softMs],
      ['hardMs', hardMs],
    ] as const) {
      if (!Number.isInteger(v) || v < 0) {
        throw new InvalidArgumentError(`options.timeouts.${name}`, 'must be an integer >= 0');
      }
    }
    return { softMs, hardMs };
  }

  async delete(key: string | readonly string[]): Promise<void> {
    const keys = typeof key === 'string' ? [key] : key;
    if (typeof key === 'string') checkKey(key);
    else checkKeys(keys);
    if (keys.length === 0) return;
    await this.#engine.deleteKeys(keys.map((k) => this.#prefix + k));
  }

  async deleteByTag(tag: string): Promise<void> {
    checkKey(tag, 'tag');
    await this.#engine.deleteTag(tag);
  }

  async clear(): Promise<void> {
    await this.#engine.clearAll(this.#prefix);
  }

  namespace(prefix: string): Cache<V> {
    checkKey(prefix, 'prefix');
    return new CacheView(this.#engine, this.#loads, `${this.#prefix}${prefix}:`);
  }

  async close(): Promise<void> {
    this.#engine.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/**
 * Create a cache: an in-process L1 (lru-cache), an optional shared L2 (Redis), an
 * optional bus keeping instances' L1s in step, per-instance (or cluster-wide)
 * singleflight, negative caching, grace with stale-while-revalidate, and tag invalidation
 * that also holds for stale entries.
 *
 * @throws InvalidOptionsError for unknown or out-of-range options.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import { cache, redisBus, redisCacheStore } from 'girder/cache';
 *
 * const redis = new Redis({ enableAutoPipelining: true });
 * const products = cache<{ id: number; name: string }>({
 *   name: 'products',
 *   l1: { maxEntries: 10_000 },
 *   l2: redisCacheStore(redis, { prefix: 'shop:cache' }),
 *   bus: redisBus(redis, { channel: 'shop:cache:bus' }),
 *   ttlMs: 60_000,
 *   graceMs: 600_000,
 *   timeouts: { softMs: 50, hardMs: 2_000 },
 * });
 * const p = await products.getOrSet('p:1', ({ signal }) => db.product(1, { signal }), {
 *   tags: ['catalog'],
 * });
 * ```
 */
export function cache<V = unknown>(options: CacheOptions<V> = {}): Cache<V> {
  const parsed = parseOptions('cache', cacheSchema, options);
  const engine = new Engine<V>(parsed);
  return new CacheView(engine, new Loads(engine), '');
}
