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
import { AllTargetsFailedError, type TargetFailure } from './errors.js';
import { type FailoverEvents, register } from './events.js';
import {
  callerCancellation,
  eventsSchema,
  fn,
  invoke,
  methodsSchema,
  resolveTargets,
} from './shared.js';

/** Where each call starts in the target list. */
export type FailoverStrategy =
  /** Always start at target 0; later targets are backups. */
  | 'ordered'
  /** Start each call at the next target in turn, so load spreads over all of them. */
  | 'round-robin';

/** What `shouldFailover` is told about a failed attempt. */
export interface FailedAttempt {
  /** Index of the target that failed. */
  readonly index: number;
  /** The method being called. */
  readonly method: string;
  /** 1 for the call's first target, 2 for the second, ... */
  readonly attempt: number;
}

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
  /** Emitter to publish events on. Default: a new one, reachable with {@link failoverEvents}. */
  events?: TypedEmitter<FailoverEvents>;
}

const schema = z.strictObject({
  strategy: z.enum(['ordered', 'round-robin']).default('ordered'),
  shouldFailover: fn<(error: unknown, attempt: FailedAttempt) => boolean>().optional(),
  maxAttempts: z.number().int().min(1).optional(),
  methods: methodsSchema,
  signalOf: fn<SignalOf>().default(() => defaultSignalOf),
  events: eventsSchema,
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
 * @throws InvalidArgumentError when `targets` is empty or a target lacks a decorated method.
 * @throws InvalidOptionsError naming each bad option.
 *
 * @example
 * ```ts
 * import { failover, failoverEvents } from 'girder/failover';
 *
 * interface SmsService { send(phone: string, text: string): Promise<void> }
 * declare const aliyun: SmsService, tencent: SmsService;
 *
 * const sms: SmsService = failover([aliyun, tencent], {
 *   strategy: 'round-robin',
 *   shouldFailover: (err) => !(err instanceof InvalidPhoneError),
 * });
 * failoverEvents(sms).on('giveUp', ({ errors }) => alert('every SMS provider failed', errors));
 * await sms.send('+8613800000000', 'your code is 1234');
 * ```
 */
export function failover<T extends object>(
  targets: readonly T[],
  options: FailoverOptions<T> = {},
): T {
  const opts = parseOptions('failover', schema, options);
  const resolved = resolveTargets(targets, opts.methods);
  const list = resolved.targets as T[];
  const n = list.length;
  const maxAttempts = Math.min(opts.maxAttempts ?? n, n);
  const { strategy, shouldFailover, signalOf } = opts;
  const events = opts.events ?? new TypedEmitter<FailoverEvents>();
  let cursor = 0;

  const decorated = decorate(
    list[0]!,
    async ({ method, args }) => {
      const signal = signalOf(args, method);
      let start = 0;
      if (strategy === 'round-robin') {
        start = cursor;
        cursor = cursor + 1 === n ? 0 : cursor + 1;
      }
      let errors: TargetFailure[] | undefined;
      for (let attempt = 1; attempt <= maxAttempts; attempt++) {
        const index = (start + attempt - 1) % n;
        if (signal?.aborted) throw new AbortedError(signal.reason);
        try {
          return await invoke(list[index]!, method, args);
        } catch (error) {
          const aborted = callerCancellation(error, signal);
          if (aborted) throw aborted;
          if (shouldFailover && !shouldFailover(error, { index, method, attempt })) throw error;
          if (errors === undefined) errors = [];
          errors.push({ index, error });
          if (attempt < maxAttempts && events.has('switch')) {
            events.emit('switch', {
              from: index,
              to: (index + 1) % n,
              reason: 'error',
              method,
              error,
            });
          }
        }
      }
      const failures = errors ?? [];
      events.emit('giveUp', { method, errors: failures });
      throw new AllTargetsFailedError(method, failures, n);
    },
    { methods: resolved.methods as AsyncMethodKeys<T>[] },
  );
  return register(decorated, { kind: 'failover', events });
}
