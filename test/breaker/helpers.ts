import type { Breaker, BreakerEvents } from '../../src/breaker/index.js';

/** Let every pending promise callback run (manual clocks never touch setImmediate). */
export const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A call whose outcome the test decides later. */
export interface Pending {
  readonly promise: Promise<unknown>;
  /** Whether the breaker invoked the function (false: refused). */
  readonly invoked: () => boolean;
  resolve(value?: unknown): void;
  reject(error: unknown): void;
  /** Abort the caller's signal, and reject as fetch would. */
  abort(): void;
  /** The settled result once known. */
  outcome(): { ok: true; value: unknown } | { ok: false; error: unknown } | undefined;
}

/** Start a call through `breaker` whose function stays pending until told otherwise. */
export function start(breaker: Breaker, options: { signal?: boolean } = {}): Pending {
  let invoked = false;
  let resolveFn: (v: unknown) => void = () => {};
  let rejectFn: (e: unknown) => void = () => {};
  const controller = options.signal ? new AbortController() : undefined;
  let outcome: ReturnType<Pending['outcome']>;
  const promise = breaker
    .execute(
      () =>
        new Promise((resolve, reject) => {
          invoked = true;
          resolveFn = resolve;
          rejectFn = reject;
        }),
      controller?.signal,
    )
    .then(
      (value) => {
        outcome = { ok: true, value };
        return value;
      },
      (error) => {
        outcome = { ok: false, error };
      },
    );
  return {
    promise,
    invoked: () => invoked,
    resolve: (v) => resolveFn(v),
    reject: (e) => rejectFn(e),
    abort: () => {
      if (!controller) throw new Error('start(..., { signal: true }) to abort');
      controller.abort();
      const err = new Error('This operation was aborted');
      err.name = 'AbortError';
      rejectFn(err);
    },
    outcome: () => outcome,
  };
}

export const ok = async () => 'ok';
export const boom = async () => {
  throw new Error('downstream failed');
};

/** Run one call to completion; returns 'ok', 'fail' or the rejection reason. */
export async function call(breaker: Breaker, succeed: boolean): Promise<string> {
  try {
    await breaker.execute(succeed ? ok : boom);
    return 'ok';
  } catch (err) {
    const e = err as { code?: string; reason?: string };
    return e.code === 'CIRCUIT_OPEN' ? `rejected:${e.reason}` : 'fail';
  }
}

/** Record every event of a breaker, in order, as `[name, payload]`. */
export function recordEvents(breaker: Breaker): Array<[keyof BreakerEvents, unknown]> {
  const seen: Array<[keyof BreakerEvents, unknown]> = [];
  const names: Array<keyof BreakerEvents> = [
    'stateChange',
    'rampStep',
    'success',
    'failure',
    'ignored',
    'rejected',
  ];
  for (const name of names) {
    breaker.events.on(name, (payload: unknown) => {
      seen.push([name, payload]);
    });
  }
  return seen;
}
