import type { ManualClock } from '../../src/core/index.js';

/** The interface the failover tests decorate: an SMS provider. */
export interface Sms {
  readonly name: string;
  send(phone: string, options?: { signal?: AbortSignal }): Promise<string>;
  balance(): Promise<number>;
}

/** How a fake provider answers one call. */
export type Behaviour = (
  phone: string,
  signal: AbortSignal | undefined,
) => Promise<string> | string;

/**
 * A fake provider whose behaviour the test changes at will. `calls` counts every call;
 * `latencyMs` (with a manual clock) makes each call take that long on the clock, by
 * advancing it synchronously inside the call, so latency is measurable without timers.
 */
export class FakeSms implements Sms {
  calls = 0;
  latencyMs = 0;
  behaviour: Behaviour;

  constructor(
    readonly name: string,
    behaviour?: Behaviour,
    private readonly clock?: ManualClock,
  ) {
    this.behaviour = behaviour ?? (() => `${name}:ok`);
  }

  async send(phone: string, options?: { signal?: AbortSignal }): Promise<string> {
    this.calls++;
    if (this.latencyMs > 0) this.clock?.advance(this.latencyMs);
    return this.behaviour(phone, options?.signal);
  }

  async balance(): Promise<number> {
    return 100;
  }

  ok(): this {
    this.behaviour = () => `${this.name}:ok`;
    return this;
  }

  failing(message = `${this.name} down`): this {
    this.behaviour = () => {
      throw new Error(message);
    };
    return this;
  }
}

/** A promise with its resolve/reject exposed. */
export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

export function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Let pending promise callbacks run. */
export async function flush(turns = 10): Promise<void> {
  for (let i = 0; i < turns; i++) await Promise.resolve();
}

/** The `issues[].path` list of an InvalidOptionsError thrown by `build`. */
export function optionPaths(build: () => unknown): string[] {
  try {
    build();
  } catch (err) {
    const e = err as { code?: string; issues?: { path: string }[] };
    if (e.code !== 'INVALID_OPTIONS') throw err;
    return e.issues!.map((i) => i.path);
  }
  throw new Error('expected InvalidOptionsError, nothing was thrown');
}
