import { z } from 'zod';
import {
  AbortedError,
  type AsyncMethodKeys,
  type Clock,
  decorate,
  defaultSignalOf,
  InvalidArgumentError,
  parseOptions,
  type SignalOf,
  TimeoutError,
  TypedEmitter,
  withTimeout,
} from '../core/index.js';
import { defaultSignalInto, type SignalInto } from '../core/signal-of.js';
import type { FailoverEvents } from './events.js';
import {
  attach,
  callerCancellation,
  callerSignal,
  clockSchema,
  type DecoratedTarget,
  fn,
  invoke,
  methodsSchema,
  nameSchema,
  positiveMs,
  resolveTargets,
} from './shared.js';
import { emitAttempt } from './try-in-order.js';

const TIMEOUT_CODES = new Set([
  'TIMEOUT',
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

/**
 * The default `isTimeout` of {@link timeoutFailover}: girder's `TimeoutError`, an error
 * named `TimeoutError`, or one whose `code` is a common Node/undici timeout code
 * (`ETIMEDOUT`, `ESOCKETTIMEDOUT`, `UND_ERR_CONNECT_TIMEOUT`, `UND_ERR_HEADERS_TIMEOUT`,
 * `UND_ERR_BODY_TIMEOUT`). The caller's own deadline never gets this far: it is a
 * cancellation, not a timeout of the target.
 *
 * @example
 * ```ts
 * import { TimeoutError } from 'girder/core';
 * import { isTimeoutError } from 'girder/failover';
 *
 * isTimeoutError(new TimeoutError(500)); // true
 * isTimeoutError(Object.assign(new Error('connect'), { code: 'ETIMEDOUT' })); // true
 * isTimeoutError(new Error('400 bad request')); // false
 * ```
 */
export function isTimeoutError(error: unknown): boolean {
  if (error instanceof TimeoutError) return true;
  if (error === null || typeof error !== 'object') return false;
  const { name, code } = error as { name?: unknown; code?: unknown };
  return name === 'TimeoutError' || (typeof code === 'string' && TIMEOUT_CODES.has(code));
}

/** Options of {@link timeoutFailover}. */
export interface TimeoutFailoverOptions<T> {
  /** Consecutive timeouts of the current target that make it switch to the next. Default 3. */
  threshold?: number;
  /** Which errors are timeouts. Default {@link isTimeoutError}. */
  isTimeout?: (error: unknown) => boolean;
  /**
   * Per-call deadline enforced by the decorator: a call still pending after this many
   * ms rejects with `TimeoutError` (which counts toward the streak), and the call's
   * signal fires; the target gets that signal through `signalInto` (where the caller's
   * signal was; a call made without one is just no longer waited for). Default: none —
   * rely on the target's own timeouts.
   */
  timeoutMs?: number;
  /** Target to start on. Default 0. */
  initial?: number;
  /** Methods to decorate. Default: every method of the first target. */
  methods?: readonly AsyncMethodKeys<T>[];
  /** Finds the caller's `AbortSignal` in a call's arguments. Default {@link defaultSignalOf}. */
  signalOf?: SignalOf;
  /** Puts the call's own signal (with `timeoutMs`) into the arguments. Default `defaultSignalInto`. */
  signalInto?: SignalInto;
  /** Time source for `timeoutMs`. Default `systemClock`. */
  clock?: Clock;
  /** Name of this decorator, for logs and metrics (`control.name`). */
  name?: string;
}

const schema = z.strictObject({
  threshold: z.number().int().min(1).default(3),
  isTimeout: fn<(error: unknown) => boolean>().default(() => isTimeoutError),
  timeoutMs: positiveMs().optional(),
  initial: z.number().int().min(0).default(0),
  methods: methodsSchema,
  signalOf: fn<SignalOf>().default(() => defaultSignalOf),
  signalInto: fn<SignalInto>().default(() => defaultSignalInto),
  clock: clockSchema,
  name: nameSchema,
});

/** Live state of a {@link timeoutFailover} decorator: its `control` property. */
export interface TimeoutFailoverControl {
  /** The `name` option. */
  readonly name: string | undefined;
  /** Index of the target calls currently go to. */
  readonly current: number;
  /** Consecutive timeouts of the current target so far. */
  readonly streak: number;
  /** Send calls to `index` from now on (resets the streak; emits `switch` with reason `manual`). */
  switchTo(index: number): void;
}

/** What {@link timeoutFailover} returns: the targets' own type, plus its `events` and `control`. */
export type TimeoutFailover<T> = DecoratedTarget<T, FailoverEvents, TimeoutFailoverControl>;

/**
 * Send every call to one target and stay there until it times out `threshold` times in
 * a row; then switch to the next target (cyclically) and reset the streak. Returns an
 * object of the targets' own type.
 *
 * - A success on the current target resets its streak.
 * - Other errors go back to the caller and neither count nor reset the streak: the
 *   target answered, so it is alive.
 * - The call that completes a streak still fails (its error goes to the caller); only
 *   later calls go to the new target. Stack `retry` or `failover` outside if that call
 *   should be repeated.
 * - Concurrency: every call remembers which switch it started after, and only results
 *   of calls started since the last switch count — a compare-and-set on a switch
 *   counter (the seeds' Go version reached for a CAS on the index, but then reset the
 *   wrong variable). So many overlapping calls that time out on the same target switch
 *   exactly once, and stragglers from before a switch neither count against nor reset
 *   the new target's streak, even after a switch away and back.
 * - The caller's own abort or deadline is never counted: it rethrows `AbortedError`.
 * - The returned object carries `events` (`switch`) and `control` (`current`,
 *   `streak`, `switchTo`), see {@link Decorated}.
 *
 * @throws InvalidArgumentError when `targets` is empty or a target lacks a decorated method.
 * @throws InvalidOptionsError naming each bad option.
 *
 * @example
 * ```ts
 * import { timeoutFailover } from 'girder/failover';
 *
 * const sms = timeoutFailover([aliyun, tencent, huawei], { threshold: 5, timeoutMs: 3_000 });
 * sms.events.on('switch', ({ from, to }) => logger.warn('sms provider switched', { from, to }));
 * await sms.send('+8613800000000', 'your code is 1234');
 * sms.control.current; // 0 until provider 0 times out 5 times in a row
 * ```
 */
export function timeoutFailover<T extends object>(
  targets: readonly T[],
  options: TimeoutFailoverOptions<T> = {},
): TimeoutFailover<T> {
  const opts = parseOptions('timeoutFailover', schema, options);
  const resolved = resolveTargets(targets, opts.methods);
  const list = resolved.targets as T[];
  const n = list.length;
  const { threshold, isTimeout, timeoutMs, signalOf, signalInto, clock } = opts;
  if (opts.initial >= n) {
    throw new InvalidArgumentError('initial', `must be < the number of targets (${n})`);
  }
  const events = new TypedEmitter<FailoverEvents>();
  let current = opts.initial;
  let streak = 0;
  // Bumped on every switch: a call counts only if no switch happened since it started,
  // which also covers a switch away and back (A -> B -> A) while it was in flight.
  let generation = 0;

  const moveTo = (to: number, reason: 'timeouts' | 'manual', method?: string, error?: unknown) => {
    const from = current;
    current = to;
    streak = 0;
    if (from !== to) {
      generation++;
      events.emit('switch', {
        from,
        to,
        reason,
        ...(method === undefined ? {} : { method }),
        ...(error === undefined ? {} : { error }),
      });
    }
  };

  const decorated = decorate(
    list[0]!,
    async ({ method, args }) => {
      const signal = callerSignal(signalOf, args, method);
      if (signal?.aborted) throw new AbortedError(signal.reason);
      const index = current;
      const started = generation;
      const target = list[index]!;
      const startedAt = events.has('attempt') ? performance.now() : -1;
      try {
        const result = await (timeoutMs === undefined
          ? invoke(target, method, args)
          : withTimeout((s) => invoke(target, method, signalInto(args, s, method)), {
              timeoutMs,
              signal,
              clock,
            }));
        if (generation === started) streak = 0;
        if (startedAt >= 0) emitAttempt(events, method, 1, index, startedAt, undefined);
        return result;
      } catch (error) {
        const aborted = callerCancellation(error, signal);
        if (aborted) throw aborted;
        if (startedAt >= 0) emitAttempt(events, method, 1, index, startedAt, { error });
        // Compare-and-set: only a call that started since the last switch counts, so one
        // streak causes exactly one switch however many calls overlap.
        if (generation === started && isTimeout(error)) {
          streak++;
          if (streak >= threshold) moveTo((index + 1) % n, 'timeouts', method, error);
        }
        throw error;
      }
    },
    { methods: resolved.methods as AsyncMethodKeys<T>[] },
  );

  const control: TimeoutFailoverControl = {
    name: opts.name,
    get current() {
      return current;
    },
    get streak() {
      return streak;
    },
    switchTo(index: number) {
      if (!Number.isInteger(index) || index < 0 || index >= n) {
        throw new InvalidArgumentError('index', `must be an integer in [0, ${n - 1}]`);
      }
      moveTo(index, 'manual');
    },
  };
  return attach(decorated, events, control);
}
