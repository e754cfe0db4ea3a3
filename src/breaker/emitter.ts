import { type Listener, TypedEmitter } from '../core/index.js';
import type { BreakerEvents } from './types.js';

/**
 * The emitter behind `breaker.events`; tracks whether any call event has a listener,
 * so the breaker times calls only when someone listens.
 *
 * @internal
 */
export class BreakerEmitter extends TypedEmitter<BreakerEvents> {
  /** True when `success`, `failure` or `ignored` has a listener. */
  callObserved = false;

  override on<K extends keyof BreakerEvents>(
    event: K,
    listener: Listener<BreakerEvents[K]>,
  ): () => void {
    const off = super.on(event, listener);
    this.#refresh();
    return off;
  }

  override off<K extends keyof BreakerEvents>(
    event: K,
    listener: Listener<BreakerEvents[K]>,
  ): void {
    super.off(event, listener);
    this.#refresh();
  }

  override removeAll(event?: keyof BreakerEvents): void {
    super.removeAll(event);
    this.#refresh();
  }

  #refresh(): void {
    this.callObserved = this.has('success') || this.has('failure') || this.has('ignored');
  }
}
