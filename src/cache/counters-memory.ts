// The one-process twin of redisCounters: same contract, the injected clock for expiry.
import { z } from 'zod';
import { type Clock, clockSchema, parseOptions, systemClock, TypedEmitter } from '../core/index.js';
import {
  type CounterEvents,
  type CounterInitOptions,
  type Counters,
  CountersClosedError,
  checkCounterKey,
  checkGetArgs,
  checkGetManyArgs,
  checkIncrArgs,
  checkInitArgs,
  countersFields,
} from './counters.js';

/**
 * Options of {@link memoryCounters}.
 *
 * @example
 * ```ts
 * import { type MemoryCountersOptions, memoryCounters } from 'girder/cache';
 *
 * const options: MemoryCountersOptions = { ttlMs: 60_000, maxKeys: 10_000 };
 * const counters = memoryCounters(options);
 * ```
 */
export interface MemoryCountersOptions {
  /** Name carried by events and errors. Default `counters`. */
  name?: string;
  /** Default lifetime of a hash loaded by `init`, ms (1 to 30 days). Default 600 000 (10 min). */
  ttlMs?: number;
  /**
   * Most hashes kept; loading one more drops the one loaded longest ago (it reloads
   * from the source of truth on its next miss). Default 100 000.
   */
  maxKeys?: number;
  /** Time source for expiry. Default `systemClock`. */
  clock?: Clock;
}

const schema = z.strictObject({
  ...countersFields,
  maxKeys: z.number().int().min(1).max(100_000_000).default(100_000),
  clock: clockSchema.default(systemClock),
});

interface Entry {
  readonly fields: Map<string, number>;
  readonly expiresAt: number;
}

class MemoryCounters implements Counters {
  readonly kind = 'memory' as const;
  readonly name: string;
  readonly events = new TypedEmitter<CounterEvents>();
  readonly #ttlMs: number;
  readonly #maxKeys: number;
  readonly #clock: Clock;
  readonly #entries = new Map<string, Entry>();
  #closed = false;

  constructor(options: z.output<typeof schema>) {
    this.name = options.name;
    this.#ttlMs = options.ttlMs;
    this.#maxKeys = options.maxKeys;
    this.#clock = options.clock;
  }

  /** The live entry of `key`, dropping it when expired. */
  #live(key: string): Entry | undefined {
    if (this.#closed) throw new CountersClosedError(this.name);
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (this.#clock.now() < entry.expiresAt) return entry;
    this.#entries.delete(key);
    return undefined;
  }

  async incr(key: string, field: string, by = 1): Promise<number | undefined> {
    checkIncrArgs(key, field, by);
    const entry = this.#live(key);
    if (entry === undefined) {
      this.events.emit('miss', { name: this.name, key });
      return undefined;
    }
    const next = (entry.fields.get(field) ?? 0) + by;
    entry.fields.set(field, next);
    return next;
  }

  async init(
    key: string,
    fields: Readonly<Record<string, number>>,
    options?: CounterInitOptions,
  ): Promise<boolean> {
    const { pairs, ttlMs, replace } = checkInitArgs(key, fields, options, this.#ttlMs);
    if (this.#live(key) !== undefined && !replace) return false;
    this.#entries.delete(key); // re-inserted last: the newest load is evicted last
    while (this.#entries.size >= this.#maxKeys) {
      const oldest = this.#entries.keys().next().value as string;
      this.#entries.delete(oldest);
    }
    this.#entries.set(key, { fields: new Map(pairs), expiresAt: this.#clock.now() + ttlMs });
    return true;
  }

  async get(key: string, field: string): Promise<number | undefined> {
    checkGetArgs(key, field);
    return this.#live(key)?.fields.get(field);
  }

  async getMany(key: string, fields: readonly string[]): Promise<(number | undefined)[]> {
    checkGetManyArgs(key, fields);
    const entry = this.#live(key);
    return fields.map((field) => entry?.fields.get(field));
  }

  async getAll(key: string): Promise<Record<string, number> | undefined> {
    checkCounterKey(key);
    const entry = this.#live(key);
    return entry === undefined ? undefined : Object.fromEntries(entry.fields);
  }

  async delete(key: string): Promise<boolean> {
    checkCounterKey(key);
    const existed = this.#live(key) !== undefined;
    this.#entries.delete(key);
    return existed;
  }

  close(): void {
    this.#closed = true;
    this.#entries.clear();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }
}

/**
 * {@link Counters} held in this process: the embedded default and the test twin of
 * {@link redisCounters}, with the same contract (incremented only while loaded, expiry
 * `ttlMs` after `init`). Not shared between instances.
 *
 * @throws InvalidOptionsError for unknown or out-of-range options.
 *
 * @example
 * ```ts
 * import { memoryCounters } from 'girder/cache';
 *
 * const counters = memoryCounters({ ttlMs: 60_000 });
 * await counters.init('product:42', { views: 0, sold: 17 });
 * await counters.incr('product:42', 'views'); // 1
 * await counters.incr('product:43', 'views'); // undefined: not loaded
 * ```
 */
export function memoryCounters(options: MemoryCountersOptions = {}): Counters {
  return new MemoryCounters(parseOptions('memoryCounters', schema, options));
}
