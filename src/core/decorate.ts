import { InvalidArgumentError } from './errors.js';

/**
 * Names of the properties of `T` that are functions returning a promise.
 *
 * @example
 * ```ts
 * import type { AsyncMethodKeys } from 'girder/core';
 *
 * type Keys = AsyncMethodKeys<{ send(): Promise<void>; name: string }>; // 'send'
 * ```
 */
export type AsyncMethodKeys<T> = {
  // biome-ignore lint/suspicious/noExplicitAny: matching any async function signature needs `any`.
  [K in keyof T]-?: T[K] extends (...args: any[]) => Promise<any> ? K : never;
}[keyof T] &
  string;

/** One intercepted call, handed to an {@link Around} function. */
export interface MethodCall<T extends object = object> {
  /** The decorated object (the original, not the decorator). */
  readonly target: T;
  /** Name of the method being called. */
  readonly method: string;
  /** Arguments the caller passed. */
  readonly args: readonly unknown[];
}

/**
 * Runs around every intercepted call. Call `next()` to invoke the original method
 * (optionally with other arguments), or don't, to short-circuit it. Whatever the
 * returned promise resolves to is what the caller gets.
 */
export type Around<T extends object> = (
  call: MethodCall<T>,
  next: (args?: readonly unknown[]) => Promise<unknown>,
) => Promise<unknown>;

/** Options of {@link decorate}. */
export interface DecorateOptions<T> {
  /**
   * Methods to intercept. Default: every function-valued property, own or inherited
   * (excluding `Object.prototype`), which are then assumed to return promises.
   * Methods not listed are bound to the target and pass through untouched.
   */
  methods?: readonly AsyncMethodKeys<T>[];
}

/**
 * Names of every function-valued property of `target`, own or inherited (excluding
 * `Object.prototype` and constructors): what {@link decorate} intercepts by default.
 *
 * @example
 * ```ts
 * import { methodNamesOf } from 'girder/core';
 *
 * class Sms { async send() {} }
 * methodNamesOf(new Sms()); // ['send']
 * ```
 */
export function methodNamesOf(target: object): string[] {
  const names = new Set<string>();
  for (let o: object | null = target; o && o !== Object.prototype; o = Object.getPrototypeOf(o)) {
    for (const name of Object.getOwnPropertyNames(o)) {
      if (name === 'constructor') continue;
      const descriptor = Object.getOwnPropertyDescriptor(o, name);
      if (descriptor && typeof descriptor.value === 'function') names.add(name);
    }
  }
  return [...names];
}

function collectPropertyNames(target: object): string[] {
  const names = new Set<string>();
  for (let o: object | null = target; o && o !== Object.prototype; o = Object.getPrototypeOf(o)) {
    for (const name of Object.getOwnPropertyNames(o)) if (name !== 'constructor') names.add(name);
  }
  return [...names];
}

/**
 * Wrap the async methods of any object so every call runs through `around`, and get
 * back an object of the same type. This is how girder's decorators (`withRateLimit`,
 * `withBreaker`, `failover`, ...) keep your interface while adding behaviour, so they
 * stack. Non-function properties are forwarded live to the target. Properties added to
 * the target after decoration are not seen.
 *
 * @example
 * ```ts
 * import { decorate } from 'girder/core';
 *
 * interface Sms { send(phone: string, text: string): Promise<void> }
 * declare const sms: Sms;
 *
 * const timed: Sms = decorate(sms, async (call, next) => {
 *   const started = performance.now();
 *   try {
 *     return await next();
 *   } finally {
 *     console.log(`${call.method} took ${performance.now() - started} ms`);
 *   }
 * });
 * ```
 */
export function decorate<T extends object>(
  target: T,
  around: Around<T>,
  options: DecorateOptions<T> = {},
): T {
  if (target === null || (typeof target !== 'object' && typeof target !== 'function')) {
    throw new InvalidArgumentError('target', 'must be an object');
  }
  if (typeof around !== 'function') throw new InvalidArgumentError('around', 'must be a function');
  const source = target as Record<string, unknown>;
  const intercepted = new Set<string>(options.methods ?? methodNamesOf(target));
  for (const name of intercepted) {
    if (typeof source[name] !== 'function') {
      throw new InvalidArgumentError('methods', `"${name}" is not a method of the target`);
    }
  }

  const decorated: Record<string, unknown> = {};
  for (const name of collectPropertyNames(target)) {
    const value = source[name];
    if (intercepted.has(name)) {
      const original = value as (...args: unknown[]) => unknown;
      decorated[name] = (...args: unknown[]) => {
        const next = (nextArgs: readonly unknown[] = args) => {
          try {
            return Promise.resolve(original.apply(target, nextArgs as unknown[]));
          } catch (error) {
            return Promise.reject(error);
          }
        };
        try {
          return around({ target, method: name, args }, next);
        } catch (error) {
          return Promise.reject(error);
        }
      };
    } else if (typeof value === 'function') {
      decorated[name] = (value as (...args: unknown[]) => unknown).bind(target);
    } else {
      // Configurable, so a decorator may put its own member of that name (say `events`) on top.
      Object.defineProperty(decorated, name, {
        enumerable: true,
        configurable: true,
        get: () => source[name],
        set: (v: unknown) => {
          source[name] = v;
        },
      });
    }
  }
  return decorated as T;
}
