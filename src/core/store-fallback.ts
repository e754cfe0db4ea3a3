// The store-failure guard every store-backed block shares (rate limiters now; jwt
// sessions, caches and locks later): one vocabulary for what to answer while the store
// fails, one set of event payloads, and one "skip the store, probe it again after
// retryMs" state machine.
import type { Clock } from './clock.js';

/**
 * What a store-backed block answers while its store (Redis, etcd...) fails or times
 * out: `deny` (fail closed), `allow` (fail open), or decide `local`ly in memory.
 * Each block documents what `local` means for it.
 */
export type StoreErrorMode = 'deny' | 'allow' | 'local';

/** Payload of a `storeError` event: one store call failed. */
export interface StoreErrorEvent {
  /** The key whose store call failed. */
  key: string;
  /** The store's error. */
  error: unknown;
  /** The block's `onStoreError` mode: how it answers while the store fails. */
  mode: StoreErrorMode;
}

/** Payload of a `fallback` event: the block stopped using its store. */
export interface FallbackEvent {
  /** The `onStoreError` mode now answering. */
  mode: StoreErrorMode;
  /** The store error that caused the fallback. */
  error: unknown;
}

/** Payload of a `recovered` event: the store answered again after a fallback. */
export interface RecoveredEvent {
  /** How long the store was bypassed, ms. */
  downMs: number;
}

/**
 * The events a {@link StoreFallback} emits; a block's own event map includes them.
 *
 * @example
 * ```ts
 * import type { StoreFallbackEvents } from 'girder/core';
 *
 * type CacheEvents = StoreFallbackEvents & { hit: { key: string } };
 * ```
 */
export type StoreFallbackEvents = {
  /** A store call failed (connection lost, timeout, script error...). */
  storeError: StoreErrorEvent;
  /** The block stopped using its store and now answers by its `onStoreError` mode. */
  fallback: FallbackEvent;
  /** The store answered again after a fallback. */
  recovered: RecoveredEvent;
};

/** Where one call should go, as {@link StoreFallback.route} answers. */
export type StoreRoute = 'store' | 'probe' | 'fallback';

/** Where a {@link StoreFallback} emits its events: any emitter whose map includes them. */
export interface StoreFallbackSink {
  /** Emit one store-failure event. */
  emit<K extends keyof StoreFallbackEvents>(event: K, payload: StoreFallbackEvents[K]): void;
}

/** Options of {@link StoreFallback}. */
export interface StoreFallbackOptions {
  /** What to answer while the store is bypassed. */
  mode: StoreErrorMode;
  /** After a failure, how long (ms on `clock`) calls skip the store before one probes it. */
  retryMs: number;
  /** Time source. */
  clock: Clock;
  /** Where the `storeError` / `fallback` / `recovered` events go (the block's `events`). */
  events: StoreFallbackSink;
  /** Called once when the store recovers (e.g. to drop `local` fallback state). */
  onRecovered?: () => void;
}

/**
 * The store-failure guard: after a store call fails, calls skip the store for `retryMs`
 * and answer by `mode`; then exactly one call probes the store, and its success ends the
 * fallback (emitting `recovered`), its failure starts another `retryMs`. Only the
 * state machine lives here; the caller decides what "answer by `mode`" means.
 *
 * @example
 * ```ts
 * import { StoreFallback, systemClock, TypedEmitter, type StoreFallbackEvents } from 'girder/core';
 *
 * declare const store: { get(key: string): Promise<string | undefined> };
 * const events = new TypedEmitter<StoreFallbackEvents>();
 * const guard = new StoreFallback({ mode: 'deny', retryMs: 1_000, clock: systemClock, events });
 *
 * async function lookup(key: string): Promise<string | undefined> {
 *   const route = guard.route();
 *   if (route === 'fallback') return undefined; // answer by mode
 *   try {
 *     const value = await store.get(key);
 *     guard.succeeded(route);
 *     return value;
 *   } catch (error) {
 *     guard.failed(key, error, route);
 *     return undefined;
 *   }
 * }
 * ```
 */
export class StoreFallback {
  /** What to answer while the store is bypassed. */
  readonly mode: StoreErrorMode;
  readonly #retryMs: number;
  readonly #clock: Clock;
  readonly #events: StoreFallbackSink;
  readonly #onRecovered: (() => void) | undefined;
  // -1 while healthy, else when the fallback began.
  #downSince = -1;
  #probeAt = 0;
  #probing = false;

  constructor(options: StoreFallbackOptions) {
    this.mode = options.mode;
    this.#retryMs = options.retryMs;
    this.#clock = options.clock;
    this.#events = options.events;
    this.#onRecovered = options.onRecovered;
  }

  /** True while the store is being bypassed (between a failure and a successful probe). */
  get down(): boolean {
    return this.#downSince >= 0;
  }

  /**
   * Where the next call goes: `store` while healthy; `fallback` while bypassing; `probe`
   * for the one call that tries the store again once `retryMs` has passed. A `probe`
   * must be settled with {@link succeeded} or {@link failed}.
   */
  route(): StoreRoute {
    if (this.#downSince < 0) return 'store';
    if (this.#probing || this.#clock.now() < this.#probeAt) return 'fallback';
    this.#probing = true;
    return 'probe';
  }

  /** A store call (routed `store` or `probe`) answered. Ends the fallback after a probe. */
  succeeded(route: StoreRoute): void {
    if (route !== 'probe') return;
    const downMs = this.#clock.now() - this.#downSince;
    this.#downSince = -1;
    this.#probing = false;
    this.#onRecovered?.();
    this.#events.emit('recovered', { downMs });
  }

  /** A store call failed: emit `storeError` (and `fallback` when it starts one). */
  failed(key: string, error: unknown, route: StoreRoute): void {
    if (route === 'probe') this.#probing = false;
    const now = this.#clock.now();
    this.#events.emit('storeError', { key, error, mode: this.mode });
    this.#probeAt = now + this.#retryMs;
    if (this.#downSince < 0) {
      this.#downSince = now;
      this.#events.emit('fallback', { mode: this.mode, error });
    }
  }

  /** A probe that ended without an answer either way (e.g. the store was closed). */
  abandoned(route: StoreRoute): void {
    if (route === 'probe') this.#probing = false;
  }

  /** Milliseconds until the next probe (at least 1): a `deny` answer's retry hint. */
  retryAfterMs(): number {
    return Math.max(1, Math.ceil(this.#probeAt - this.#clock.now()));
  }
}
