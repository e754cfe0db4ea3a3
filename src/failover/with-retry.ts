import { z } from 'zod';
import {
  type AsyncMethodKeys,
  decorate,
  defaultSignalOf,
  parseOptions,
  type SignalOf,
  TypedEmitter,
} from '../core/index.js';
import { defaultSignalInto, type SignalInto } from '../core/signal-of.js';
import {
  policySchema,
  type RetryEvents,
  type RetryPolicyOptions,
  type RetryReport,
  runRetry,
  toPolicy,
} from './retry.js';
import {
  attach,
  callerSignal,
  type DecoratedTarget,
  fn,
  methodsSchema,
  nameSchema,
} from './shared.js';

/** Options of {@link withRetry} about the decorating itself (the policy is the second argument). */
export interface WithRetryOptions<T> {
  /** Methods to decorate. Default: every method of the target. */
  methods?: readonly AsyncMethodKeys<T>[];
  /** Finds the caller's `AbortSignal` in a call's arguments. Default `defaultSignalOf`. */
  signalOf?: SignalOf;
  /**
   * Puts each attempt's own signal (with `attemptTimeoutMs`) into the arguments, where
   * the target reads it. Default {@link defaultSignalInto}: where the caller's signal was.
   */
  signalInto?: SignalInto;
  /** Name of this decorator, for logs and metrics (`control.name`). */
  name?: string;
}

/** The `control` of a {@link withRetry} decorator. */
export interface RetryControl {
  /** The `name` option. */
  readonly name: string | undefined;
  /** Total attempts per call, the first included. */
  readonly attempts: number;
}

/** What {@link withRetry} returns: the target's own type, plus its `events` and `control`. */
export type WithRetry<T> = DecoratedTarget<T, RetryEvents, RetryControl>;

const decoratorSchema = z.strictObject({
  methods: methodsSchema,
  signalOf: fn<SignalOf>().default(() => defaultSignalOf),
  signalInto: fn<SignalInto>().default(() => defaultSignalInto),
  name: nameSchema,
});

/**
 * Retry every call of `target`'s async methods with the policy `retry` uses (attempts,
 * backoff, `shouldRetry`, a shared budget, a per-attempt deadline), and get back an
 * object of the same type. Stack it outside `withBreaker` so each attempt counts for
 * the breaker, and let `shouldRetry` refuse `CIRCUIT_OPEN`, so an open breaker fails
 * fast instead of being retried.
 *
 * - The caller's signal (found by `signalOf`) stops the call at once, during an attempt
 *   or a backoff wait, with `AbortedError`: never retried, never counted, no budget spent.
 * - With `attemptTimeoutMs`, each attempt gets its own signal (fired at its deadline or
 *   by the caller), handed to the target through `signalInto`.
 * - When it gives up, the last attempt's error is rethrown unchanged.
 * - Events (`retry`, `giveUp`, each naming the method) are on the returned object's
 *   `events`; see {@link Decorated}.
 *
 * @throws InvalidOptionsError naming each bad option of either argument.
 * @throws InvalidArgumentError when `target` is not an object or a listed method is missing.
 *
 * @example
 * ```ts
 * import { withBreaker } from 'girder/breaker';
 * import { exponential, isGirderError } from 'girder/core';
 * import { retryBudget, withRetry } from 'girder/failover';
 *
 * const payments = withRetry(
 *   withBreaker(httpPaymentProvider, breaker),
 *   {
 *     attempts: 3,
 *     backoff: exponential({ initialMs: 100, maxMs: 1_000 }),
 *     budget: retryBudget({ ratio: 0.2, minPerSec: 5 }),
 *     shouldRetry: (err) => !isClientError(err) && !isGirderError(err, 'CIRCUIT_OPEN'),
 *   },
 *   { name: 'payment-provider' },
 * );
 * payments.events.on('retry', ({ method, attempt }) => retries.inc({ method, attempt }));
 * await payments.refund({ paymentId }, { signal: request.signal });
 * ```
 */
export function withRetry<T extends object>(
  target: T,
  retryOptions: RetryPolicyOptions = {},
  options: WithRetryOptions<T> = {},
): WithRetry<T> {
  const policy = toPolicy(parseOptions('withRetry', policySchema, retryOptions));
  const { methods, signalOf, signalInto, name } = parseOptions(
    'withRetry',
    decoratorSchema,
    options,
  );
  const events = new TypedEmitter<RetryEvents>();

  const decorated = decorate(
    target,
    ({ method, args }, next) => {
      const signal = callerSignal(signalOf, args, method);
      const report: RetryReport = { events, method };
      return runRetry(
        (_attempt, s) => next(s === undefined || s === signal ? args : signalInto(args, s, method)),
        policy,
        signal,
        report,
      );
    },
    methods ? { methods: methods as AsyncMethodKeys<T>[] } : {},
  );
  const control: RetryControl = { name, attempts: policy.attempts };
  return attach(decorated, events, control);
}
