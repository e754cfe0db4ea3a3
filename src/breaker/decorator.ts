import { z } from 'zod';
import {
  type AsyncMethodKeys,
  decorate,
  defaultSignalOf,
  functionSchema,
  InvalidArgumentError,
  isCallerCancellation,
  type MethodCall,
  parseOptions,
  type SignalOf,
} from '../core/index.js';
import { BrokenCircuitError } from './errors.js';
import type { Breaker } from './types.js';

/** Options of {@link withBreaker}. */
export interface WithBreakerOptions<T extends object> {
  /**
   * Called instead of throwing when the breaker refuses a call (the error is the
   * {@link BrokenCircuitError}); whatever it returns (or resolves to) is the caller's
   * result — a cached value, a default, a queued-for-later marker. Default: none, the
   * `BrokenCircuitError` propagates.
   */
  fallback?: (call: MethodCall<T>, error: unknown) => unknown;
  /**
   * Also use `fallback` when the target fails (any error except the caller's own
   * cancellation), not only when the breaker refuses. Default false.
   */
  fallbackOnFailure?: boolean;
  /** Methods to guard. Default: every method (see core `decorate`). */
  methods?: readonly AsyncMethodKeys<T>[];
  /**
   * Finds the caller's `AbortSignal` among a call's arguments, so the breaker can tell
   * a cancellation from a failure. Default {@link defaultSignalOf}: the first argument
   * that is an `AbortSignal`, or has one as its `signal` property (the same finder
   * every girder decorator uses).
   */
  signalOf?: SignalOf;
}

const optionsSchema = z.strictObject({
  fallback: z
    .custom<(call: MethodCall, error: unknown) => unknown>((v) => typeof v === 'function', {
      message: 'must be a function',
    })
    .optional(),
  fallbackOnFailure: z.boolean().default(false),
  methods: z.array(z.string()).optional(),
  signalOf: functionSchema<SignalOf>().default(() => defaultSignalOf),
});

/**
 * Guard every async method of `target` with `breaker`, keeping the target's type. A
 * refused call throws {@link BrokenCircuitError} (code `CIRCUIT_OPEN`, with
 * `retryAfterMs` when known) without touching the target — or, with `fallback`,
 * returns its degraded value instead. All methods share the one breaker: use one
 * breaker per dependency, not per method, unless the methods fail independently.
 *
 * @example
 * ```ts
 * import { circuitBreaker, consecutiveFailures, withBreaker } from 'girder/breaker';
 *
 * interface Recommendations { forUser(id: string, opts?: { signal?: AbortSignal }): Promise<string[]> }
 * declare const remote: Recommendations;
 *
 * const breaker = circuitBreaker({ name: 'recommendations', policy: consecutiveFailures({ threshold: 5 }) });
 * const recommendations: Recommendations = withBreaker(remote, breaker, {
 *   fallback: () => [], // degrade to "no recommendations" while the service is down
 * });
 * ```
 */
export function withBreaker<T extends object>(
  target: T,
  breaker: Breaker,
  options: WithBreakerOptions<T> = {},
): T {
  if (
    typeof breaker !== 'object' ||
    breaker === null ||
    typeof (breaker as Breaker).execute !== 'function'
  ) {
    throw new InvalidArgumentError('breaker', 'must be a breaker from circuitBreaker()');
  }
  const o = parseOptions('withBreaker', optionsSchema, options);
  const findSignal = (call: MethodCall<T>) => o.signalOf(call.args, call.method);
  const fallback = o.fallback as ((call: MethodCall<T>, error: unknown) => unknown) | undefined;
  const fallbackOnFailure = o.fallbackOnFailure;
  const decorateOptions = o.methods
    ? { methods: o.methods as unknown as readonly AsyncMethodKeys<T>[] }
    : {};

  if (fallback === undefined) {
    return decorate(
      target,
      (call, next) => breaker.execute(() => next(), findSignal(call)),
      decorateOptions,
    );
  }
  return decorate(
    target,
    async (call, next) => {
      const signal = findSignal(call);
      let called = false;
      try {
        return await breaker.execute(() => {
          called = true;
          return next();
        }, signal);
      } catch (error) {
        if (!called && error instanceof BrokenCircuitError) return fallback(call, error);
        if (called && fallbackOnFailure && !isCallerCancellation(error, signal)) {
          return fallback(call, error);
        }
        throw error;
      }
    },
    decorateOptions,
  );
}
