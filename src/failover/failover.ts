import { z } from 'zod';
import {
  AbortedError,
  type AsyncMethodKeys,
  decorate,
  defaultSignalOf,
  parseOptions,
  type SignalOf,
  TypedEmitter,
} from '../core/index.js';
import type { FailoverEvents } from './events.js';
import {
  attach,
  callerSignal,
  type DecoratedTarget,
  fn,
  methodsSchema,
  nameSchema,
  resolveTargets,
} from './shared.js';
import { type FailedAttempt, type OrderedTargets, tryInOrder } from './try-in-order.js';

/** Where each call starts in the target list. */
export type FailoverStrategy =
  /** Always start at target 0; later targets are backups. */
  | 'ordered'
  /** Start each call at the next target in turn, so load spreads over all of them. */
  | 'round-robin';

/** Options of {@link failover}. */
export interface FailoverOptions<T> {
  /** Where each call starts. Default `'ordered'`. */
  strategy?: FailoverStrategy;
  /**
   * Whether an error should send the call on to the next target. Return `false` for
   * errors another target would also return (bad input, a business rule), so the
   * caller gets them at once. Default: every error except the caller's own cancellation
   * (which always stops at once, whatever this returns).
   */
  shouldFailover?: (error: unknown, attempt: FailedAttempt) => boolean;
  /** Most targets one call may try. Default: all of them. */
  maxAttempts?: number;
  /** Methods to decorate. Default: every method of the first target. */
  methods?: readonly AsyncMethodKeys<T>[];
  /** Finds the caller's `AbortSignal` in a call's arguments. Default {@link defaultSignalOf}. */
  signalOf?: SignalOf;
  /** Name of this decorator, for logs and metrics (`control.name`). */
  name?: string;
}

/** The `control` of a {@link failover} decorator. */
export interface FailoverControl {
  /** The `name` option. */
  readonly name: string | undefined;
  /** How many targets it fails over between. */
  readonly targets: number;
}

/** What {@link failover} returns: the targets' own type, plus its `events` and `control`. */
export type Failover<T> = DecoratedTarget<T, FailoverEvents, FailoverControl>;

const schema = z.strictObject({
  strategy: z.enum(['ordered', 'round-robin']).default('ordered'),
  shouldFailover: fn<(error: unknown, attempt: FailedAttempt) => boolean>().optional(),
  maxAttempts: z.number().int().min(1).optional(),
  methods: methodsSchema,
  signalOf: fn<SignalOf>().default(() => defaultSignalOf),
  name: nameSchema,
});

/**
 * Call the first target; when it fails, try the next, until one succeeds. Returns an
 * object of the targets' own type, so it stacks with the other decorators.
 *
 * - `strategy: 'ordered'` (default) starts every call at target 0: a primary and its
 *   backups.
 * - `strategy: 'round-robin'` starts each call at the next target in turn, so healthy
 *   targets share the load evenly and a failing one costs only the calls that start on it.
 *
 * The caller's own abort or deadline (an `AbortSignal` among the arguments, see
 * `signalOf`) stops at once with `AbortedError`: the remaining targets are never tried.
 * When every target fails the call rejects with {@link AllTargetsFailedError} listing
 * each target's error.
 *
 * Only use failover for calls that are safe to repeat on another target (idempotent, or
 * deduplicated downstream): a target that timed out may still have done the work.
 *
 * The returned object is the targets' own type, with two non-enumerable extras: its
 * typed `events` (`switch`, `giveUp`) and its `control` (see {@link Decorated}).
 *
 * A `signalOf` that returns something other than an `AbortSignal` makes the call
 * reject with `INVALID_ARGUMENT` before any target is tried.
 *
 * @throws InvalidArgumentError when `targets` is empty or a target lacks a decorated method.
 * @throws InvalidOptionsError naming each bad option.
 *
 * @example
 * ```ts
 * import { failover } from 'girder/failover';
 *
 * interface SmsService { send(phone: string, text: string): Promise<void> }
 * declare const aliyun: SmsService, tencent: SmsService;
 *
 * const sms = failover([aliyun, tencent], {
 *   strategy: 'round-robin',
 *   shouldFailover: (err) => !(err instanceof InvalidPhoneError),
 * });
 * sms.events.on('giveUp', ({ errors }) => alert('every SMS provider failed', errors));
 * await sms.send('+8613800000000', 'your code is 1234');
 * ```
 */
export function failover<T extends object>(
  targets: readonly T[],
  options: FailoverOptions<T> = {},
): Failover<T> {
  const opts = parseOptions('failover', schema, options);
  const resolved = resolveTargets(targets, opts.methods);
  const list = resolved.targets as T[];
  const n = list.length;
  const maxAttempts = Math.min(opts.maxAttempts ?? n, n);
  const { strategy, signalOf } = opts;
  const events = new TypedEmitter<FailoverEvents>();
  const loop: OrderedTargets = { targets: list, events, shouldFailover: opts.shouldFailover };
  const indexAt = (attempt: number, start: number) => (start + attempt) % n;
  let cursor = 0;

  const decorated = decorate(
    list[0]!,
    ({ method, args }) => {
      const signal = callerSignal(signalOf, args, method);
      if (signal?.aborted) throw new AbortedError(signal.reason);
      let start = 0;
      if (strategy === 'round-robin') {
        start = cursor;
        cursor = cursor + 1 === n ? 0 : cursor + 1;
      }
      return tryInOrder(loop, method, args, signal, maxAttempts, start, indexAt);
    },
    { methods: resolved.methods as AsyncMethodKeys<T>[] },
  );
  const control: FailoverControl = { name: opts.name, targets: n };
  return attach(decorated, events, control);
}
