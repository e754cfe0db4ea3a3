/** Map of event name to payload type, e.g. `{ stateChange: { from: string; to: string } }`. */
export type EventMap = { [event: string]: unknown };

/** A listener for one event of an {@link EventMap}. */
export type Listener<T> = (payload: T) => void;

/** Read-only side of an emitter: what a primitive exposes as `events`. */
export interface EventSource<E extends EventMap> {
  /** Subscribe; returns a function that unsubscribes. */
  on<K extends keyof E>(event: K, listener: Listener<E[K]>): () => void;
  /** Subscribe for the next emission only; returns a function that unsubscribes. */
  once<K extends keyof E>(event: K, listener: Listener<E[K]>): () => void;
  /** Unsubscribe a listener added with `on` (unknown listeners are ignored). */
  off<K extends keyof E>(event: K, listener: Listener<E[K]>): void;
  /** Number of listeners of `event`. */
  listenerCount(event: keyof E): number;
}

/** Options of {@link TypedEmitter}. */
export interface TypedEmitterOptions {
  /**
   * Called when a listener throws. Listeners are observers: their bugs must never
   * break the primitive emitting, so the error is handed here instead of propagating.
   * Default: `process.emitWarning`.
   */
  onListenerError?: (error: unknown, event: string) => void;
}

const defaultListenerError = (error: unknown, event: string) => {
  const detail = error instanceof Error ? error.message : String(error);
  process.emitWarning(`girder: a listener of "${event}" threw: ${detail}`, 'GirderListenerWarning');
};

/**
 * A small, synchronous, typed event emitter. Every girder primitive exposes one as
 * `events`. Emitting with no listeners costs one map lookup, so hot paths can emit
 * freely; use {@link TypedEmitter.has} to skip building an expensive payload.
 *
 * @example
 * ```ts
 * import { TypedEmitter } from 'girder/core';
 *
 * type Events = { opened: { reason: string }; closed: undefined };
 * const events = new TypedEmitter<Events>();
 * const off = events.on('opened', ({ reason }) => console.log('opened:', reason));
 * events.emit('opened', { reason: '5 failures in a row' });
 * off();
 * ```
 */
export class TypedEmitter<E extends EventMap> implements EventSource<E> {
  // Arrays are replaced, never mutated, so emit can iterate without copying.
  readonly #listeners = new Map<keyof E, Listener<never>[]>();
  readonly #onListenerError: (error: unknown, event: string) => void;

  constructor(options: TypedEmitterOptions = {}) {
    this.#onListenerError = options.onListenerError ?? defaultListenerError;
  }

  on<K extends keyof E>(event: K, listener: Listener<E[K]>): () => void {
    const current = this.#listeners.get(event) ?? [];
    this.#listeners.set(event, [...current, listener as Listener<never>]);
    return () => this.off(event, listener);
  }

  once<K extends keyof E>(event: K, listener: Listener<E[K]>): () => void {
    const wrapper: Listener<E[K]> = (payload) => {
      this.off(event, wrapper);
      listener(payload);
    };
    return this.on(event, wrapper);
  }

  off<K extends keyof E>(event: K, listener: Listener<E[K]>): void {
    const current = this.#listeners.get(event);
    if (!current) return;
    const index = current.indexOf(listener as Listener<never>);
    if (index === -1) return;
    const next = current.filter((_, i) => i !== index);
    if (next.length === 0) this.#listeners.delete(event);
    else this.#listeners.set(event, next);
  }

  /** True when `event` has at least one listener. */
  has(event: keyof E): boolean {
    return this.#listeners.has(event);
  }

  listenerCount(event: keyof E): number {
    return this.#listeners.get(event)?.length ?? 0;
  }

  /** Deliver `payload` to every listener of `event`, in subscription order. */
  emit<K extends keyof E>(event: K, payload: E[K]): void {
    const listeners = this.#listeners.get(event) as Listener<E[K]>[] | undefined;
    if (listeners === undefined) return;
    for (const listener of listeners) {
      try {
        listener(payload);
      } catch (error) {
        this.#onListenerError(error, String(event));
      }
    }
  }

  /** Remove every listener of `event`, or of all events. */
  removeAll(event?: keyof E): void {
    if (event === undefined) this.#listeners.clear();
    else this.#listeners.delete(event);
  }
}
