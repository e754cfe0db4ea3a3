import { z } from 'zod';
import { parseOptions } from '../core/index.js';
import type { LogFields } from './logger.js';
import { createWalker, DEFAULT_MAX_DEPTH, MAX_DEPTH_LIMIT, type Walker } from './walk.js';

/**
 * The plain-object form of an error, as loggers write it.
 *
 * @example
 * ```ts
 * import type { SerializedError } from 'girder/logger';
 *
 * const logged: SerializedError = {
 *   type: 'RateLimitedError',
 *   message: 'rate limit exceeded',
 *   code: 'RATE_LIMITED',
 *   context: { route: '/login' },
 * };
 * ```
 */
export interface SerializedError {
  /** Constructor name (`TypeError`, `RateLimitedError`), falling back to `name`. */
  type: string;
  /** The error's message. */
  message: string;
  /** A `code` property (girder's stable codes, Node's `ECONNREFUSED`...) when present. */
  code?: string | number;
  /** Context attached with `annotate`. */
  context?: LogFields;
  /** The stack trace, when the runtime recorded one. */
  stack?: string;
  /** The `cause`, itself serialised when it is an error. */
  cause?: unknown;
  /** The inner errors of an `AggregateError`. */
  errors?: unknown[];
  /** Other own enumerable properties of the error (`errno`, `syscall`, `issues`...). */
  [property: string]: unknown;
}

/**
 * Options of {@link serializeError}.
 *
 * @example
 * ```ts
 * import { serializeError, type SerializeErrorOptions } from 'girder/logger';
 *
 * const options: SerializeErrorOptions = { maxDepth: 3 };
 * serializeError(new Error('boom'), options);
 * ```
 */
export interface SerializeErrorOptions {
  /** Nesting levels walked before values become `'[Truncated]'`. Default 10, max 100. */
  maxDepth?: number;
}

const schema = z.strictObject({
  maxDepth: z.number().int().min(1).max(MAX_DEPTH_LIMIT).default(DEFAULT_MAX_DEPTH),
});

let defaultWalker: Walker | undefined;

function safeString(value: unknown): string {
  try {
    return String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

/**
 * Turn an error into a plain, JSON-safe object: `type`, `message`, `code`, other own
 * fields, `context` (from `annotate`), `stack`, and the `cause` chain, with cycles
 * replaced by `'[Circular]'`. Loggers call this for every `Error` value they meet; call
 * it yourself to ship an error elsewhere. It does **not** redact: pass the result
 * through {@link redactor} first if it may hold secrets. A thrown non-error becomes
 * `{type: 'NonError', message, value}`.
 *
 * @example
 * ```ts
 * import { serializeError } from 'girder/logger';
 *
 * const err = new Error('checkout failed', { cause: new Error('connect ECONNREFUSED') });
 * serializeError(err);
 * // { type: 'Error', message: 'checkout failed', stack: '...',
 * //   cause: { type: 'Error', message: 'connect ECONNREFUSED', stack: '...' } }
 * ```
 */
export function serializeError(err: unknown, options?: SerializeErrorOptions): SerializedError {
  let walker: Walker;
  if (options === undefined) {
    defaultWalker ??= createWalker(undefined, DEFAULT_MAX_DEPTH);
    walker = defaultWalker;
  } else {
    walker = createWalker(undefined, parseOptions('serializeError', schema, options).maxDepth);
  }
  if (err instanceof Error || Object.prototype.toString.call(err) === '[object Error]') {
    return walker.fields({ err }).err as SerializedError;
  }
  const { value } = walker.fields({ value: err });
  return { type: 'NonError', message: safeString(err), value };
}
