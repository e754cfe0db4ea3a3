/**
 * Finds the caller's `AbortSignal` among a method's arguments, so a decorator can tell
 * the caller giving up from the target failing. Return `undefined` when the call
 * carries none. Every girder decorator that honours cancellation takes one as its
 * `signalOf` option.
 */
export type SignalOf = (args: readonly unknown[], method: string) => AbortSignal | undefined;

/**
 * The default {@link SignalOf}: the first argument that is an `AbortSignal`, or the
 * `signal` property of the first object argument that has one (`{ signal }` options),
 * wherever it sits in the argument list.
 *
 * @example
 * ```ts
 * import { defaultSignalOf } from 'girder/core';
 *
 * const controller = new AbortController();
 * defaultSignalOf(['+86138', { signal: controller.signal }], 'send'); // controller.signal
 * ```
 */
export const defaultSignalOf: SignalOf = (args) => {
  for (const arg of args) {
    if (arg instanceof AbortSignal) return arg;
    if (arg !== null && typeof arg === 'object') {
      const signal = (arg as { signal?: unknown }).signal;
      if (signal instanceof AbortSignal) return signal;
    }
  }
  return undefined;
};
