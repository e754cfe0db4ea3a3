// Where `watchConfig` reads from: a feed of one key's raw JSON text. The memory store
// is the embedded default; the etcd feed lists the key, then watches it, re-reading
// after every reconnection (as discovery does, for the same reasons).
import type { IWatchResponse, Namespace, Watcher } from 'etcd3';
import { type Backoff, type Clock, InvalidArgumentError, withTimeout } from '../core/index.js';

/** @internal One key's raw values: a string, or undefined when the key does not exist. */
export interface ConfigFeed {
  /** Starts feeding; the returned function stops. */
  subscribe(
    key: string,
    onValue: (raw: string | undefined) => void,
    onError: (error: unknown) => void,
  ): () => void;
}

/**
 * An in-process config store for {@link watchConfig}: the embedded default and the test
 * double of etcd. Values are stored as JSON text, as on etcd.
 *
 * @example
 * ```ts
 * import { memoryConfigStore, watchConfig } from 'girder/registry';
 *
 * const store = memoryConfigStore();
 * store.set('shop/phase', { phase: 'dual-write' });
 * ```
 */
export interface MemoryConfigStore {
  /** Always `'memory-config-store'`. */
  readonly kind: 'memory-config-store';
  /** Store `value` as JSON (a string is stored as given: it is taken to be JSON text already). */
  set(key: string, value: unknown): void;
  /** The raw JSON text under `key`, or undefined. */
  get(key: string): string | undefined;
  /** Remove `key`. */
  delete(key: string): void;
}

class MemoryConfig implements MemoryConfigStore, ConfigFeed {
  readonly kind = 'memory-config-store';
  readonly #values = new Map<string, string>();
  readonly #listeners = new Map<string, Set<(raw: string | undefined) => void>>();

  set(key: string, value: unknown): void {
    checkKey(key);
    const raw = typeof value === 'string' ? value : JSON.stringify(value);
    if (raw === undefined) throw new InvalidArgumentError('value', 'is not JSON-serialisable');
    this.#values.set(key, raw);
    for (const l of this.#listeners.get(key) ?? []) l(raw);
  }

  get(key: string): string | undefined {
    return this.#values.get(key);
  }

  delete(key: string): void {
    if (!this.#values.delete(key)) return;
    for (const l of this.#listeners.get(key) ?? []) l(undefined);
  }

  subscribe(key: string, onValue: (raw: string | undefined) => void): () => void {
    let set = this.#listeners.get(key);
    if (set === undefined) {
      set = new Set();
      this.#listeners.set(key, set);
    }
    const listeners = set;
    listeners.add(onValue);
    onValue(this.#values.get(key));
    return () => listeners.delete(onValue);
  }
}

/** @internal */
export function isMemoryConfigStore(v: unknown): v is MemoryConfigStore & ConfigFeed {
  return v instanceof MemoryConfig;
}

/**
 * A new, empty {@link MemoryConfigStore}.
 *
 * @example
 * ```ts
 * import { memoryConfigStore } from 'girder/registry';
 *
 * const store = memoryConfigStore();
 * store.set('limits', { perSecond: 100 });
 * ```
 */
export function memoryConfigStore(): MemoryConfigStore {
  return new MemoryConfig();
}

/** @internal */
export function checkKey(key: unknown): string {
  if (typeof key !== 'string' || key.length === 0 || key.length > 1_024) {
    throw new InvalidArgumentError('key', 'must be a non-empty string of at most 1024 characters');
  }
  return key;
}

/** @internal Settings of the etcd feed. */
export interface EtcdFeedSettings {
  readonly requestTimeoutMs: number;
  readonly retry: Backoff;
  readonly clock: Clock;
}

/** @internal The feed of one etcd key. */
export function etcdConfigFeed(client: Namespace, settings: EtcdFeedSettings): ConfigFeed {
  return {
    subscribe(key, onValue, onError) {
      let stopped = false;
      let watcher: Watcher | undefined;
      let timer: ReturnType<Clock['setTimeout']> | undefined;
      let attempt = 0;
      let previousDelay = 0;
      let disconnected = false;
      const { clock, requestTimeoutMs: timeoutMs } = settings;

      const stopWatching = () => {
        const w = watcher;
        watcher = undefined;
        w?.cancel().catch(() => {});
      };
      const read = async (): Promise<void> => {
        if (stopped) return;
        stopWatching();
        try {
          const reply = await withTimeout(() => client.get(key).exec(), {
            timeoutMs,
            clock,
          });
          // A prefix read of one key: take only the exact key.
          const kv = reply.kvs.find((k) => k.key.toString() === key);
          if (stopped) return;
          attempt = 0;
          previousDelay = 0;
          disconnected = false;
          onValue(kv?.value.toString());
          watchFrom(BigInt(reply.header.revision) + 1n);
        } catch (error) {
          if (stopped) return;
          onError(error);
          attempt++;
          previousDelay = settings.retry.delayMs(attempt, previousDelay);
          timer = clock.setTimeout(() => {
            timer = undefined;
            void read();
          }, previousDelay);
        }
      };
      const watchFrom = (revision: bigint) => {
        const w = client.watch().key(key).startRevision(revision.toString()).watcher();
        watcher = w;
        w.on('data', (response: IWatchResponse) => {
          if (watcher !== w) return;
          const last = response.events.at(-1);
          if (last === undefined) return;
          onValue(last.type === 'Delete' ? undefined : last.kv.value.toString());
        });
        w.on('disconnected', (error: unknown) => {
          if (watcher !== w) return;
          disconnected = true;
          onError(error);
        });
        w.on('connected', () => {
          if (watcher === w && disconnected) void read();
        });
        w.on('error', () => {
          if (watcher === w) void read();
        });
      };
      void read();
      return () => {
        stopped = true;
        if (timer !== undefined) clock.clearTimeout(timer);
        stopWatching();
      };
    },
  };
}
