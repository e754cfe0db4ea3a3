// Node's global AbortSignal is an accessor; reading it once keeps the hot path cheap.
const SignalClass = globalThis.AbortSignal;

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
    if (arg instanceof SignalClass) return arg;
    if (arg !== null && typeof arg === 'object') {
      const signal = (arg as { signal?: unknown }).signal;
      if (signal instanceof SignalClass) return signal;
    }
  }
  return undefined;
};

/**
 * Puts a signal into a method's arguments, where the target reads it: the inverse of
 * {@link SignalOf}. Decorators that give each attempt its own signal (a per-attempt or
 * per-call deadline) use it to hand that signal to the target. Return the new argument
 * list (never mutate `args`); return `args` itself when the method takes no signal.
 */
export type SignalInto = (
  args: readonly unknown[],
  signal: AbortSignal,
  method: string,
) => readonly unknown[];

/**
 * The default {@link SignalInto}, matching {@link defaultSignalOf}: replaces the first
 * argument that is an `AbortSignal`, or else the `signal` of the first object argument
 * that has one (as a shallow copy, `{ ...options, signal }`). When the caller passed no
 * signal at all the arguments are returned unchanged, since where the method would take
 * one is unknown; give your own `signalInto` for such methods.
 *
 * @example
 * ```ts
 * import { defaultSignalInto } from 'girder/failover';
 *
 * const caller = new AbortController().signal;
 * const attempt = AbortSignal.timeout(1_000);
 * defaultSignalInto(['+86138', { signal: caller, retries: 0 }], attempt, 'send');
 * // ['+86138', { signal: attempt, retries: 0 }]
 * ```
 */
export const defaultSignalInto: SignalInto = (args, signal) => {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg instanceof SignalClass) return args.map((a, j) => (j === i ? signal : a));
    if (
      arg !== null &&
      typeof arg === 'object' &&
      (arg as { signal?: unknown }).signal instanceof SignalClass
    ) {
      return args.map((a, j) => (j === i ? { ...(arg as object), signal } : a));
    }
  }
  return args;
};
