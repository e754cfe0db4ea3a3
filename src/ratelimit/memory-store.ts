import { z } from 'zod';
import { InvalidOptionsError, MAX_TIMER_MS, parseOptions } from '../core/index.js';
import type { MemoryState } from './algorithm.js';

/** Options of {@link memoryStore}. */
export interface MemoryStoreOptions {
  /**
   * Most keys kept per limiter. When a new key would exceed it, the least recently used
   * key is forgotten (its quota starts fresh if it comes back). Default: unbounded
   * (idle keys are still swept once expired).
   */
  maxKeys?: number;
  /**
   * How often an `unref`'d timer sweeps expired keys, in ms (at most 2^31 − 1, about
   * 24.8 days); 0 disables the timer (keys are then only reused or evicted). Default 30 000.
   */
  sweepIntervalMs?: number;
}

const schema = z.strictObject({
  maxKeys: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).optional(),
  // setInterval fires every 1 ms past 2^31-1 ms, so longer sweeps are refused.
  sweepIntervalMs: z.number().int().min(0).max(MAX_TIMER_MS).default(30_000),
});

/**
 * Per-limiter key table of a memory store. Not part of the API: limiters use it directly.
 */
export class MemoryTable<S extends MemoryState = MemoryState> {
  readonly map = new Map<string, S>();
  /** Latest clock time the owning limiter decided at; the sweeper compares to it. */
  lastNow = Number.NEGATIVE_INFINITY;
  readonly #bounded: boolean;

  constructor(
    readonly algorithm: string,
    readonly maxKeys: number,
  ) {
    this.#bounded = maxKeys !== Number.POSITIVE_INFINITY;
  }

  /** The key's state, created if missing; refreshed as most recently used when bounded. */
  obtain(key: string, factory: { createState(): S }): S {
    const map = this.map;
    let state = map.get(key);
    if (state === undefined) {
      if (map.size >= this.maxKeys) this.#evict();
      state = factory.createState();
      map.set(key, state);
    } else if (this.#bounded) {
      map.delete(key);
      map.set(key, state);
    }
    return state;
  }

  #evict(): void {
    // Expired keys go first; otherwise the least recently used (Map keeps order).
    const now = this.lastNow;
    for (const [key, state] of this.map) {
      if (state.expiresAt <= now) {
        this.map.delete(key);
        return;
      }
      break;
    }
    const oldest = this.map.keys().next();
    if (!oldest.done) this.map.delete(oldest.value);
  }

  /** Drop expired keys; returns how many. */
  sweep(): number {
    let removed = 0;
    const now = this.lastNow;
    for (const [key, state] of this.map) {
      if (state.expiresAt <= now) {
        this.map.delete(key);
        removed++;
      }
    }
    return removed;
  }
}

/**
 * The in-process store: state lives in this process only (the embedded default).
 * Create one per process and share it between limiters, or let each limiter create its
 * own (the default).
 *
 * @example
 * ```ts
 * import { fixedWindow, memoryStore } from 'girder/ratelimit';
 *
 * const store = memoryStore({ maxKeys: 100_000 });
 * const perUser = fixedWindow({ limit: 100, windowMs: 60_000, store });
 * ```
 */
export interface MemoryStore {
  /** Discriminant: `memory`. */
  readonly kind: 'memory';
  /** Keys currently held, over all limiters using this store. */
  readonly size: number;
  /** Drop expired keys now; returns how many were dropped. */
  sweep(): number;
  /** Stop the sweep timer and forget all state. */
  close(): void;
  /**
   * The key table of one limiter.
   * @internal
   */
  table<S extends MemoryState>(name: string, algorithm: string): MemoryTable<S>;
}

class MemoryStoreImpl implements MemoryStore {
  readonly kind = 'memory' as const;
  readonly #tables = new Map<string, MemoryTable>();
  readonly #maxKeys: number;
  readonly #sweepIntervalMs: number;
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(maxKeys: number | undefined, sweepIntervalMs: number) {
    this.#maxKeys = maxKeys ?? Number.POSITIVE_INFINITY;
    this.#sweepIntervalMs = sweepIntervalMs;
  }

  get size(): number {
    let size = 0;
    for (const table of this.#tables.values()) size += table.map.size;
    return size;
  }

  table<S extends MemoryState>(name: string, algorithm: string): MemoryTable<S> {
    let table = this.#tables.get(name);
    if (table === undefined) {
      table = new MemoryTable(algorithm, this.#maxKeys);
      this.#tables.set(name, table);
      if (this.#timer === undefined && this.#sweepIntervalMs > 0) {
        this.#timer = setInterval(() => this.sweep(), this.#sweepIntervalMs);
        this.#timer.unref?.();
      }
    } else if (table.algorithm !== algorithm) {
      throw new InvalidOptionsError('rate limiter', [
        {
          path: 'name',
          message: `"${name}" is already used in this store by a ${table.algorithm} limiter`,
        },
      ]);
    }
    return table as unknown as MemoryTable<S>;
  }

  sweep(): number {
    let removed = 0;
    for (const table of this.#tables.values()) removed += table.sweep();
    return removed;
  }

  close(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#tables.clear();
  }
}

/**
 * Create an in-process store. Bounded: each key's state records when it becomes
 * equivalent to "never seen", a periodic `unref`'d timer sweeps such keys, and
 * `maxKeys` caps the table with least-recently-used eviction.
 *
 * @example
 * ```ts
 * import { memoryStore, tokenBucket } from 'girder/ratelimit';
 *
 * const limiter = tokenBucket({
 *   capacity: 10,
 *   refillPerSec: 1,
 *   store: memoryStore({ maxKeys: 50_000, sweepIntervalMs: 10_000 }),
 * });
 * ```
 */
export function memoryStore(options: MemoryStoreOptions = {}): MemoryStore {
  const { maxKeys, sweepIntervalMs } = parseOptions('memoryStore', schema, options);
  return new MemoryStoreImpl(maxKeys, sweepIntervalMs);
}
