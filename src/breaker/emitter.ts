import { type Listener, TypedEmitter } from '../core/index.js';
import type { BreakerEvents, BreakerState } from './types.js';

/**
 * The emitter behind `breaker.events`; tracks whether any call event has a listener,
 * so the breaker times calls only when someone listens.
 *
 * @internal
 */
export class BreakerEmitter extends TypedEmitter<BreakerEvents> {
  /** True when `success`, `failure` or `ignored` has a listener. */
  callObserved = false;
  /** True when `callSample` has a listener. */
  sampleObserved = false;

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
    this.sampleObserved = this.has('callSample');
  }

  // Emitters that build a payload only when someone listens.

  /** Emit `success`; `error` is included when `withError` (an error that did not count). */
  success(
    durationMs: number,
    state: 'closed' | 'half-open',
    error: unknown,
    withError: boolean,
  ): void {
    if (!this.has('success')) return;
    this.emit('success', withError ? { durationMs, state, error } : { durationMs, state });
  }

  /** Emit `failure` or `ignored`. */
  call(
    event: 'failure' | 'ignored',
    error: unknown,
    durationMs: number,
    state: 'closed' | 'half-open',
  ): void {
    if (this.has(event)) this.emit(event, { error, durationMs, state });
  }

  /** Emit `callSample`. */
  sample(
    outcome: 'success' | 'failure' | 'ignored',
    durationMs: number,
    state: 'closed' | 'half-open',
  ): void {
    this.emit('callSample', { outcome, durationMs, state });
  }

  /** Emit `stateChange`, with `openMs` when entering `open`. */
  stateChange(from: BreakerState, to: BreakerState, reason: string, openMs?: number): void {
    if (!this.has('stateChange')) return;
    this.emit(
      'stateChange',
      openMs === undefined ? { from, to, reason } : { from, to, reason, openMs },
    );
  }
}
