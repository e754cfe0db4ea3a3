// The state both elections share: who leads, the term, the leadership's signal, the
// elected/demoted events, and `run`, which waits for leadership.
import {
  AbortedError,
  type Clock,
  checkSignal,
  InvalidArgumentError,
  TypedEmitter,
} from '../core/index.js';
import type { DemotionReason, ElectionEvents, RunOptions } from './election-types.js';
import { JobLostError } from './errors.js';

const notLeading = (() => {
  const c = new AbortController();
  c.abort(new Error('not leading'));
  return c.signal;
})();

/** @internal */
export class Leadership {
  #controller: AbortController | undefined;
  #term: number | undefined;
  #since: number;
  #waiters = new Set<() => void>();

  constructor(
    readonly name: string,
    readonly clock: Clock,
    readonly events: TypedEmitter<ElectionEvents> = new TypedEmitter<ElectionEvents>(),
  ) {
    this.#since = clock.now();
  }

  get isLeader(): boolean {
    return this.#controller !== undefined;
  }
  get term(): number | undefined {
    return this.#term;
  }
  get signal(): AbortSignal {
    return this.#controller?.signal ?? notLeading;
  }

  elect(term: number): void {
    if (this.#controller !== undefined) return;
    const now = this.clock.now();
    this.#controller = new AbortController();
    this.#term = term;
    const waitedMs = now - this.#since;
    this.#since = now;
    this.events.emit('elected', { name: this.name, term, waitedMs });
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const wake of waiters) wake();
  }

  demote(reason: DemotionReason, cause?: unknown): void {
    const controller = this.#controller;
    if (controller === undefined) return;
    const term = this.#term ?? 0;
    const now = this.clock.now();
    const ledMs = now - this.#since;
    this.#controller = undefined;
    this.#term = undefined;
    this.#since = now;
    this.events.emit('demoted', { name: this.name, term, reason, ledMs });
    controller.abort(
      new JobLostError(this.name, reason === 'closed' ? 'closed' : 'demoted', { cause }),
    );
  }

  error(error: unknown): void {
    this.events.emit('error', { name: this.name, error });
  }

  /** Resolves when this instance leads (at once if it does); rejects when `signal` aborts. */
  waitForLeadership(signal: AbortSignal | undefined, closed: () => boolean): Promise<void> {
    if (this.isLeader) return Promise.resolve();
    if (closed()) return Promise.reject(new InvalidArgumentError('election', 'is closed'));
    if (signal?.aborted) return Promise.reject(new AbortedError(signal.reason));
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        this.#waiters.delete(wake);
        reject(new AbortedError(signal?.reason));
      };
      const wake = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      this.#waiters.add(wake);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Rejects every pending `run` (the election closed). */
  rejectWaiters(): void {
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const wake of waiters) wake();
  }

  async run<T>(
    fn: (signal: AbortSignal) => T | PromiseLike<T>,
    options: RunOptions | undefined,
    closed: () => boolean,
  ): Promise<Awaited<T>> {
    if (typeof fn !== 'function') throw new InvalidArgumentError('fn', 'must be a function');
    if (options !== undefined && (options === null || typeof options !== 'object')) {
      throw new InvalidArgumentError('options', 'must be an object');
    }
    const caller = checkSignal(options?.signal, 'options.signal');
    for (;;) {
      await this.waitForLeadership(caller, closed);
      // Woken by close(): there is no leadership to run under.
      if (!this.isLeader) {
        if (closed()) throw new InvalidArgumentError('election', 'is closed');
        continue;
      }
      const signal = caller === undefined ? this.signal : AbortSignal.any([this.signal, caller]);
      return await fn(signal);
    }
  }
}
