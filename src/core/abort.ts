import { type Clock, systemClock } from './clock.js';
import { AbortedError, InvalidArgumentError, InvalidOptionsError, TimeoutError } from './errors.js';

// Node's global AbortSignal is an accessor; reading it once keeps the hot path cheap.
const SignalClass = globalThis.AbortSignal;

/**
 * Throw {@link AbortedError} if `signal` has already fired.
 *
 * @example
 * ```ts
 * import { throwIfAborted } from 'girder/core';
 *
 * async function work(signal?: AbortSignal) {
 *   throwIfAborted(signal);
 *   // ...
 * }
 * ```
 */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AbortedError(signal.reason);
}

/**
 * Check a caller-supplied `signal` argument: `undefined` passes, an `AbortSignal` (or
 * anything shaped like one) is returned, anything else — an `AbortController`, a
 * boolean — throws {@link InvalidArgumentError}. Without this check a wrong object
 * surfaces later as an uncaught `TypeError` inside a timer, which ends the process.
 *
 * @param argument - the name used in the error, e.g. `options.signal`.
 * @example
 * ```ts
 * import { checkSignal } from 'girder/core';
 *
 * function wait(ms: number, options: { signal?: AbortSignal } = {}) {
 *   const signal = checkSignal(options.signal, 'options.signal');
 *   // ...
 * }
 * ```
 */
export function checkSignal(value: unknown, argument = 'signal'): AbortSignal | undefined {
  if (value === undefined) return undefined;
  if (isAbortSignal(value)) return value;
  const what =
    value === null
      ? 'null'
      : typeof value === 'object'
        ? (value.constructor?.name ?? 'object')
        : typeof value;
  throw new InvalidArgumentError(argument, `must be an AbortSignal, got ${what}`);
}

/** True for an `AbortSignal`, or an object with its shape (`aborted`, `addEventListener`). */
export function isAbortSignal(value: unknown): value is AbortSignal {
  if (value instanceof SignalClass) return true;
  if (value === null || typeof value !== 'object') return false;
  const v = value as Partial<AbortSignal>;
  return (
    typeof v.aborted === 'boolean' &&
    typeof v.addEventListener === 'function' &&
    typeof v.removeEventListener === 'function'
  );
}

/** Options of {@link sleep}. */
export interface SleepOptions {
  /** Reject with {@link AbortedError} as soon as this fires. */
  signal?: AbortSignal | undefined;
  /** Time source; defaults to {@link systemClock}. */
  clock?: Clock | undefined;
}

/**
 * Wait `ms` milliseconds on the given clock. Rejects with {@link AbortedError} when
 * the signal fires, and cleans up its timer and listener either way.
 *
 * @example
 * ```ts
 * import { sleep } from 'girder/core';
 *
 * await sleep(250);
 * await sleep(250, { signal: AbortSignal.timeout(100) }); // rejects with AbortedError
 * ```
 */
export function sleep(ms: number, options: SleepOptions = {}): Promise<void> {
  if (!Number.isFinite(ms) || ms < 0) {
    return Promise.reject(new InvalidArgumentError('ms', 'must be a finite number >= 0'));
  }
  if (options === null || typeof options !== 'object') {
    return Promise.reject(new InvalidArgumentError('options', 'must be an object'));
  }
  const unknown = unknownOption('sleep', options, SLEEP_KEYS);
  if (unknown) return Promise.reject(unknown);
  const { clock = systemClock } = options;
  let signal: AbortSignal | undefined;
  try {
    signal = checkSignal(options.signal, 'options.signal');
  } catch (error) {
    return Promise.reject(error);
  }
  if (signal?.aborted) return Promise.reject(new AbortedError(signal.reason));
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => {
      clock.clearTimeout(timer);
      reject(new AbortedError(signal?.reason));
    };
    const timer = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Options of {@link withTimeout}. */
export interface TimeoutOptions {
  /** Deadline in milliseconds; exceeding it rejects with {@link TimeoutError}. */
  timeoutMs: number;
  /** The caller's own cancellation; firing it rejects with {@link AbortedError}. */
  signal?: AbortSignal | undefined;
  /** Time source; defaults to {@link systemClock}. */
  clock?: Clock | undefined;
}

/**
 * Run `fn` with a signal that fires when either the deadline passes or the caller's
 * signal fires, and tell the two apart: a deadline rejects with {@link TimeoutError}
 * (a downstream failure), the caller's abort with {@link AbortedError} (not a failure).
 * The returned promise settles at the deadline even if `fn` ignores its signal.
 *
 * @example
 * ```ts
 * import { withTimeout } from 'girder/core';
 *
 * const body = await withTimeout(
 *   (signal) => fetch('http://127.0.0.1:8080/slow', { signal }).then((r) => r.text()),
 *   { timeoutMs: 500, signal: request.signal },
 * );
 * ```
 */
export function withTimeout<T>(
  fn: (signal: AbortSignal) => Promise<T>,
  options: TimeoutOptions,
): Promise<T> {
  if (typeof fn !== 'function') {
    return Promise.reject(new InvalidArgumentError('fn', 'must be a function'));
  }
  if (options === null || typeof options !== 'object') {
    return Promise.reject(new InvalidArgumentError('options', 'must be an object'));
  }
  const unknown = unknownOption('withTimeout', options, TIMEOUT_KEYS);
  if (unknown) return Promise.reject(unknown);
  const { timeoutMs, clock = systemClock } = options;
  if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs < 0) {
    return Promise.reject(new InvalidArgumentError('timeoutMs', 'must be a finite number >= 0'));
  }
  let signal: AbortSignal | undefined;
  try {
    signal = checkSignal(options.signal, 'options.signal');
  } catch (error) {
    return Promise.reject(error);
  }
  if (signal?.aborted) return Promise.reject(new AbortedError(signal.reason));

  const inner = new AbortController();
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const finish = (settle: () => void) => {
      if (settled) return;
      settled = true;
      clock.clearTimeout(timer);
      signal?.removeEventListener('abort', onCallerAbort);
      settle();
    };
    const onCallerAbort = () => {
      const error = new AbortedError(signal?.reason);
      finish(() => reject(error));
      inner.abort(error);
    };
    const timer = clock.setTimeout(() => {
      const error = new TimeoutError(timeoutMs);
      finish(() => reject(error));
      inner.abort(error);
    }, timeoutMs);
    signal?.addEventListener('abort', onCallerAbort, { once: true });

    let pending: Promise<T>;
    try {
      pending = fn(inner.signal);
    } catch (err) {
      finish(() => reject(err));
      return;
    }
    pending.then(
      (value) => finish(() => resolve(value)),
      (err) => finish(() => reject(err)),
    );
  });
}

/**
 * True when `err` is the caller's own cancellation rather than a downstream failure:
 * an {@link AbortedError}, or any error thrown while the caller's `signal` was aborted
 * (for example the `AbortError` that `fetch` throws). Breakers, failover and retry use
 * this so a client giving up is never blamed on the dependency.
 *
 * @example
 * ```ts
 * import { isCallerCancellation } from 'girder/core';
 *
 * try {
 *   await callDownstream(signal);
 * } catch (err) {
 *   if (!isCallerCancellation(err, signal)) failures++;
 *   throw err;
 * }
 * ```
 */
export function isCallerCancellation(err: unknown, signal?: AbortSignal): boolean {
  if (err instanceof AbortedError) return true;
  return signal?.aborted === true && !(err instanceof TimeoutError);
}

const SLEEP_KEYS: readonly string[] = ['signal', 'clock'];
const TIMEOUT_KEYS: readonly string[] = ['timeoutMs', 'signal', 'clock'];

/** A misspelt per-call option (`{ singal }`) is refused like a misspelt factory option. */
function unknownOption(
  subject: string,
  options: object,
  known: readonly string[],
): InvalidOptionsError | undefined {
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      return new InvalidOptionsError(subject, [{ path: key, message: `unknown option "${key}"` }]);
    }
  }
  return undefined;
}
