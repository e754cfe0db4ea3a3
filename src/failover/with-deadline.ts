import { z } from 'zod';
import {
  type AsyncMethodKeys,
  type Clock,
  decorate,
  defaultSignalOf,
  parseOptions,
  type SignalOf,
  TimeoutError,
  TypedEmitter,
  withTimeout,
} from '../core/index.js';
import { defaultSignalInto, type SignalInto } from '../core/signal-of.js';
import {
  attach,
  callerSignal,
  clockSchema,
  type DecoratedTarget,
  durationMs,
  fn,
  methodsSchema,
  nameSchema,
} from './shared.js';

/** The deadline of {@link withDeadline}: the second argument. */
export interface DeadlineOptions {
  /** Time one call may take, ms; a call still pending then rejects with `TimeoutError`. */
  timeoutMs: number;
  /** Time source of the deadline timer. Default `systemClock`. */
  clock?: Clock;
}

/** Options of {@link withDeadline} about the decorating itself. */
export interface WithDeadlineOptions<T> {
  /** Methods to decorate. Default: every method of the target. */
  methods?: readonly AsyncMethodKeys<T>[];
  /** Finds the caller's `AbortSignal` in a call's arguments. Default `defaultSignalOf`. */
  signalOf?: SignalOf;
  /**
   * Puts the call's own signal (fired at the deadline or by the caller) into the
   * arguments, where the target reads it. Default {@link defaultSignalInto}.
   */
  signalInto?: SignalInto;
  /** Name of this decorator, for logs and metrics (`control.name`). */
  name?: string;
}

/** Events of a {@link withDeadline} decorator, on its `events` property. */
export type DeadlineEvents = {
  /** A call passed its deadline; the caller got `TimeoutError`. */
  timeout: {
    /** The decorated method. */
    method: string;
    /** The deadline it passed, ms. */
    timeoutMs: number;
  };
};

/** The `control` of a {@link withDeadline} decorator. */
export interface DeadlineControl {
  /** The `name` option. */
  readonly name: string | undefined;
  /** The deadline of each call, ms. */
  readonly timeoutMs: number;
}

/** What {@link withDeadline} returns: the target's own type, plus its `events` and `control`. */
export type WithDeadline<T> = DecoratedTarget<T, DeadlineEvents, DeadlineControl>;

const deadlineSchema = z.strictObject({
  timeoutMs: durationMs(),
  clock: clockSchema,
});

const decoratorSchema = z.strictObject({
  methods: methodsSchema,
  signalOf: fn<SignalOf>().default(() => defaultSignalOf),
  signalInto: fn<SignalInto>().default(() => defaultSignalInto),
  name: nameSchema,
});

/**
 * Give every call of `target`'s async methods a deadline of `timeoutMs`, and get back
 * an object of the same type: the decorator form of core's `withTimeout(fn, options)`.
 * (It is named `withDeadline` so that `girder/core`'s function of that name and this
 * decorator never meet in one import list.)
 *
 * - A call still pending at its deadline rejects with `TimeoutError` (code `TIMEOUT`, a
 *   downstream failure: breakers and failover count it), and its signal fires so the
 *   target can stop; the target gets that signal through `signalInto`.
 * - The caller's own abort rejects with `AbortedError` (never a failure).
 * - Durations past 2^31-1 ms are kept exactly (the clock chains timers).
 *
 * @throws InvalidOptionsError naming each bad option (e.g. a negative or infinite `timeoutMs`).
 * @throws InvalidArgumentError when `target` is not an object or a listed method is missing.
 *
 * @example
 * ```ts
 * import { withDeadline, withRetry } from 'girder/failover';
 *
 * // Each attempt at most 2 s, three attempts.
 * const inventory = withRetry(withDeadline(inventoryClient, { timeoutMs: 2_000 }), { attempts: 3 });
 * await inventory.reserve(sku, 1, { signal: request.signal });
 * ```
 */
export function withDeadline<T extends object>(
  target: T,
  deadline: DeadlineOptions,
  options: WithDeadlineOptions<T> = {},
): WithDeadline<T> {
  const { timeoutMs, clock } = parseOptions('withDeadline', deadlineSchema, deadline);
  const { methods, signalOf, signalInto, name } = parseOptions(
    'withDeadline',
    decoratorSchema,
    options,
  );
  const events = new TypedEmitter<DeadlineEvents>();

  const decorated = decorate(
    target,
    ({ method, args }, next) => {
      const signal = callerSignal(signalOf, args, method);
      return withTimeout((s) => next(signalInto(args, s, method)), {
        timeoutMs,
        signal,
        clock,
      }).catch((error: unknown) => {
        if (error instanceof TimeoutError && events.has('timeout')) {
          events.emit('timeout', { method, timeoutMs });
        }
        throw error;
      });
    },
    methods ? { methods: methods as AsyncMethodKeys<T>[] } : {},
  );
  const control: DeadlineControl = { name, timeoutMs };
  return attach(decorated, events, control);
}
