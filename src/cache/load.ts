// getOrSet's miss path: one load per key per instance (singleflight), optionally one per
// cluster (a girder/lock lock around the loader, with L2 re-read once it is held), and
// the soft/hard timeout race between a caller and the load it waits for.
import { AbortedError } from '../core/index.js';
import type { Engine, WriteSpec } from './engine.js';
import { CacheTimeoutError } from './errors.js';
import type { CacheTimeouts, Loader } from './types.js';

/** @internal One running load shared by every caller of its key on this instance. */
interface Flight<V> {
  readonly promise: Promise<V | undefined>;
  /** Callers still waiting; 0 at the end makes the load `background`. */
  waiting: number;
}

const noop = () => {};

/** Failed keys remembered before expired backoffs are swept. */
const MAX_BACKOFF_KEYS = 10_000;

/** @internal */
export class Loads<V> {
  readonly #engine: Engine<V>;
  readonly #flights = new Map<string, Flight<V>>();
  /** Keys whose last load failed, and when their loader may be called again. */
  readonly #backoff = new Map<string, number>();

  constructor(engine: Engine<V>) {
    this.#engine = engine;
  }

  /**
   * Whether `key`'s loader failed less than `refreshBackoffMs` ago: a caller with a stale
   * value then serves it without starting another load.
   */
  backingOff(key: string): boolean {
    const until = this.#backoff.get(key);
    if (until === undefined) return false;
    if (this.#engine.clock.now() < until) return true;
    this.#backoff.delete(key);
    return false;
  }

  #failed(key: string): void {
    const backoffMs = this.#engine.options.refreshBackoffMs;
    if (backoffMs === 0) return;
    const now = this.#engine.clock.now();
    if (this.#backoff.size >= MAX_BACKOFF_KEYS) {
      // Many keys failing at once: forget the ones whose backoff is over.
      for (const [k, until] of this.#backoff) if (until <= now) this.#backoff.delete(k);
    }
    this.#backoff.set(key, now + backoffMs);
  }

  /** The running load of `key`, or a new one. */
  flight(key: string, userKey: string, loader: Loader<V>, spec: WriteSpec): Flight<V> {
    let flight = this.#flights.get(key);
    if (flight !== undefined) return flight;
    const state = { waiting: 0 } as { waiting: number; promise: Promise<V | undefined> };
    state.promise = this.#run(key, userKey, loader, spec, state).finally(() => {
      this.#flights.delete(key);
    });
    state.promise.catch(noop); // callers that stopped waiting must not leave it unhandled
    flight = state;
    this.#flights.set(key, flight);
    return flight;
  }

  async #run(
    key: string,
    userKey: string,
    loader: Loader<V>,
    spec: WriteSpec,
    flight: { waiting: number },
  ): Promise<V | undefined> {
    const engine = this.#engine;
    const locker = engine.options.singleflight === 'cluster' ? engine.options.locker : undefined;
    if (locker === undefined) return this.#call(key, userKey, loader, spec, flight);
    let lock: Awaited<ReturnType<typeof locker.acquire>>;
    try {
      lock = await locker.acquire(`${engine.options.name}:${key}`, {
        waitMs: engine.options.lockWaitMs,
        signal: engine.closing.signal,
      });
    } catch (error) {
      if (engine.closing.signal.aborted) throw error;
      // No coordination possible (lock wait ran out, lock store down): load here anyway.
      engine.events.emit('lockFallback', { key, error });
      return this.#call(key, userKey, loader, spec, flight);
    }
    try {
      // Another instance may have loaded it while this one waited for the lock.
      const [stored] = await engine.readL2([key]);
      if (stored !== undefined && engine.clock.now() < stored.freshUntil) {
        engine.l1?.set(key, stored);
        return stored.value;
      }
      return await this.#call(key, userKey, loader, spec, flight);
    } finally {
      // Awaited: the next instance can take over as soon as this load is stored.
      await lock.release().catch(noop);
    }
  }

  async #call(
    key: string,
    userKey: string,
    loader: Loader<V>,
    spec: WriteSpec,
    flight: { waiting: number },
  ): Promise<V | undefined> {
    const engine = this.#engine;
    const epoch = engine.epoch;
    const started = engine.clock.now();
    let value: V | undefined;
    try {
      value = await loader({ signal: engine.closing.signal, key: userKey });
    } catch (error) {
      const durationMs = engine.clock.now() - started;
      engine.events.emit('load', {
        key,
        durationMs,
        outcome: 'error',
        background: flight.waiting === 0,
      });
      engine.events.emit('error', { key, error });
      this.#failed(key);
      throw error;
    }
    const durationMs = engine.clock.now() - started;
    this.#backoff.delete(key);
    const notFound = value === undefined;
    engine.events.emit('load', {
      key,
      durationMs,
      outcome: notFound ? 'notFound' : 'value',
      background: flight.waiting === 0,
    });
    // An invalidation during the load may mean the loaded value predates it: hand it to
    // the callers waiting now, but do not cache it.
    if (engine.epoch !== epoch) return value;
    const negativeTtlMs = engine.options.negativeTtlMs;
    if (notFound && negativeTtlMs === 0) return undefined;
    const entry = await engine.entryFor(
      value,
      notFound ? { ttlMs: negativeTtlMs, graceMs: 0, tags: spec.tags } : spec,
    );
    if (engine.epoch === epoch) await engine.write([{ key, entry }]);
    return value;
  }

  /**
   * Wait for `flight` at most `timeoutMs` (0: no limit) and until `signal` aborts.
   * Resolves `{ done: true, value }`, `{ done: false }` when the time ran out, or rejects
   * with the load's error or `AbortedError`.
   */
  wait(
    flight: Flight<V>,
    timeoutMs: number,
    signal: AbortSignal | undefined,
  ): Promise<{ done: true; value: V | undefined } | { done: false }> {
    const clock = this.#engine.clock;
    flight.waiting++;
    return new Promise((resolve, reject) => {
      let over = false;
      const finish = () => {
        over = true;
        flight.waiting--;
        if (timer !== undefined) clock.clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      const onAbort = () => {
        if (over) return;
        finish();
        reject(new AbortedError(signal?.reason));
      };
      const timer =
        timeoutMs > 0
          ? clock.setTimeout(() => {
              if (over) return;
              finish();
              resolve({ done: false });
            }, timeoutMs)
          : undefined;
      signal?.addEventListener('abort', onAbort, { once: true });
      flight.promise.then(
        (value) => {
          if (over) return;
          finish();
          resolve({ done: true, value });
        },
        (error: unknown) => {
          if (over) return;
          finish();
          reject(error);
        },
      );
    });
  }

  /** Wait for a load with nothing else to serve: the hard timeout throws. */
  async waitHard(
    key: string,
    flight: Flight<V>,
    timeouts: Required<CacheTimeouts>,
    signal: AbortSignal | undefined,
  ): Promise<V | undefined> {
    const outcome = await this.wait(flight, timeouts.hardMs, signal);
    if (!outcome.done) throw new CacheTimeoutError(key, timeouts.hardMs);
    return outcome.value;
  }
}
