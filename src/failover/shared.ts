import { z } from 'zod';
import {
  AbortedError,
  checkSignal,
  clockSchema as coreClockSchema,
  type EventMap,
  type EventSource,
  functionSchema,
  InvalidArgumentError,
  isCallerCancellation,
  methodNamesOf,
  type SignalOf,
  systemClock,
} from '../core/index.js';

/** @internal A zod schema accepting any function of type F. */
export const fn = <F extends (...args: never[]) => unknown>() => functionSchema<F>();

/** @internal Schema of the `methods` option. */
export const methodsSchema = z.array(z.string().min(1)).min(1).optional();

/** @internal Schema of the `name` option every factory accepts. */
export const nameSchema = z.string().min(1).max(200).optional();

/** @internal Schema of a duration option: finite and >= 0 (timers past 2^31-1 ms are chained by the clock). */
export const durationMs = () => z.number().finite().nonnegative();

/** @internal Schema of a duration that must be > 0. */
export const positiveMs = () => z.number().finite().positive();

/** @internal Schema of the `clock` option. */
export const clockSchema = coreClockSchema.default(systemClock);

const isObject = (v: unknown): v is object =>
  v !== null && (typeof v === 'object' || typeof v === 'function');

/**
 * @internal
 * Check the target list and decide which methods to intercept: `methods` when given,
 * otherwise every method of the first target. Every target must have each of them.
 */
export function resolveTargets(
  targets: unknown,
  methods: readonly string[] | undefined,
  label: (index: number) => string = (index) => `targets[${index}]`,
): { targets: object[]; methods: string[] } {
  if (!Array.isArray(targets) || targets.length === 0) {
    throw new InvalidArgumentError('targets', 'must be a non-empty array of objects');
  }
  targets.forEach((t, i) => {
    if (!isObject(t)) throw new InvalidArgumentError(label(i), 'must be an object');
  });
  const names = methods ? [...methods] : methodNamesOf(targets[0]);
  if (names.length === 0) throw new InvalidArgumentError(label(0), 'has no methods to decorate');
  targets.forEach((t, i) => {
    for (const name of names) {
      if (typeof (t as Record<string, unknown>)[name] !== 'function') {
        throw new InvalidArgumentError(label(i), `has no method "${name}"`);
      }
    }
  });
  return { targets: [...targets], methods: names };
}

/** @internal Call `target[method](...args)`, turning a synchronous throw into a rejection. */
export function invoke(target: object, method: string, args: readonly unknown[]): Promise<unknown> {
  try {
    const f = (target as Record<string, (...a: unknown[]) => unknown>)[method]!;
    return Promise.resolve(f.apply(target, args as unknown[]));
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * @internal
 * The caller's signal of one call, found by `signalOf` and checked: a `signalOf` that
 * returns something other than an `AbortSignal` is answered with `INVALID_ARGUMENT`
 * (thrown inside the decorated call, so the caller gets a rejection), never with a
 * `TypeError` from a timer later.
 */
export function callerSignal(
  signalOf: SignalOf,
  args: readonly unknown[],
  method: string,
): AbortSignal | undefined {
  return checkSignal(signalOf(args, method), `signalOf(${method})`);
}

/**
 * @internal
 * When `error` is the caller's own cancellation, the {@link AbortedError} to rethrow;
 * otherwise undefined.
 */
export function callerCancellation(error: unknown, signal: AbortSignal | undefined) {
  if (!isCallerCancellation(error, signal)) return undefined;
  return error instanceof AbortedError ? error : new AbortedError(signal?.reason ?? error);
}

/**
 * What every decorator of `girder/failover` adds to the object it returns, beside your
 * interface's own members: its typed `events` and its `control` object. Both are
 * non-enumerable own properties, so spreading or serialising the object ignores them.
 * When the decorated target already has an `events` or `control` member (another
 * girder decorator inside), the outer decorator's own shadows it on the returned
 * object; keep a reference to the inner object to reach the inner one.
 *
 * @typeParam E - the event map.
 * @typeParam C - the control object's type.
 */
export interface Decorated<E extends EventMap, C> {
  /** The decorator's typed events. */
  readonly events: EventSource<E>;
  /** Live state and manual overrides of the decorator. */
  readonly control: C;
}

/**
 * A target of type `T` as a failover decorator returns it: `T`'s own members plus the
 * decorator's {@link Decorated} `events` and `control`. When `T` already has `events`
 * or `control` (another girder decorator inside), those are replaced in the type, as
 * they are on the object, so `withRetry(failover(...)).events` is typed as retry's.
 *
 * @typeParam T - the decorated interface.
 * @typeParam E - the decorator's event map.
 * @typeParam C - the decorator's control object.
 */
export type DecoratedTarget<T, E extends EventMap, C> = ([
  Extract<keyof T, 'events' | 'control'>,
] extends [never]
  ? T
  : Omit<T, 'events' | 'control'>) &
  Decorated<E, C>;

/** @internal Attach `events` and `control` to a decorated object as non-enumerable, read-only properties. */
export function attach<T extends object, E extends EventMap, C>(
  decorated: T,
  events: EventSource<E>,
  control: C,
): DecoratedTarget<T, E, C> {
  Object.defineProperty(decorated, 'events', { value: events, enumerable: false });
  Object.defineProperty(decorated, 'control', { value: control, enumerable: false });
  return decorated as unknown as DecoratedTarget<T, E, C>;
}
