import { z } from 'zod';
import {
  AbortedError,
  clockSchema as coreClockSchema,
  functionSchema,
  InvalidArgumentError,
  isCallerCancellation,
  methodNamesOf,
  systemClock,
  TypedEmitter,
} from '../core/index.js';
import type { FailoverEvents } from './events.js';

/** @internal A zod schema accepting any function of type F. */
export const fn = <F extends (...args: never[]) => unknown>() => functionSchema<F>();

/** @internal Schema of the `events` option every decorator accepts. */
export const eventsSchema = z
  .custom<TypedEmitter<FailoverEvents>>((v) => v instanceof TypedEmitter, {
    message: 'must be a TypedEmitter',
  })
  .optional();

/** @internal Schema of the `methods` option. */
export const methodsSchema = z.array(z.string().min(1)).min(1).optional();

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
 * When `error` is the caller's own cancellation, the {@link AbortedError} to rethrow;
 * otherwise undefined.
 */
export function callerCancellation(error: unknown, signal: AbortSignal | undefined) {
  if (!isCallerCancellation(error, signal)) return undefined;
  return error instanceof AbortedError ? error : new AbortedError(signal?.reason ?? error);
}

/** @internal Schema of the `clock` option. */
export const clockSchema = coreClockSchema.default(systemClock);
