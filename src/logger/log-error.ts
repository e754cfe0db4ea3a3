import { InvalidArgumentError } from '../core/index.js';
import type { LogFields, Logger, LogLevel } from './logger.js';

// Registered symbol so the mark is shared by the ESM and CJS builds of girder.
const LOGGED = Symbol.for('girder.logger.logged');
// Frozen or sealed errors cannot take the mark as a property.
const sealedLogged = new WeakSet<object>();

type Marked = { [LOGGED]?: true };

function isObject(value: unknown): value is object {
  return (typeof value === 'object' && value !== null) || typeof value === 'function';
}

function mark(err: object): void {
  try {
    Object.defineProperty(err, LOGGED, { value: true, configurable: true, enumerable: false });
  } catch {
    sealedLogged.add(err);
  }
}

/**
 * True when `err` has already been logged by {@link logError} or {@link handled}, so a
 * framework error handler can skip logging it again. Always false for thrown
 * primitives, which cannot be marked.
 *
 * @example
 * ```ts
 * import { isLogged } from 'girder/logger';
 *
 * app.setErrorHandler((err, request, reply) => {
 *   if (!isLogged(err)) request.log.error({ err }, 'unhandled');
 *   reply.code(500).send({ error: 'internal' });
 * });
 * ```
 */
export function isLogged(err: unknown): boolean {
  if (!isObject(err)) return false;
  return (err as Marked)[LOGGED] === true || sealedLogged.has(err);
}

function assertLogger(logger: unknown): asserts logger is Logger {
  if (!isObject(logger) || typeof (logger as Partial<Logger>).error !== 'function') {
    throw new InvalidArgumentError('logger', 'must be a Logger');
  }
}

function defaultMessage(err: unknown): string {
  if (err instanceof Error && err.message !== '') return err.message;
  try {
    return String(err);
  } catch {
    return 'non-error thrown';
  }
}

/**
 * Shared by {@link logError} and {@link handled}: log `err` at `level` unless it was
 * logged before. The mark is set first, so a logger that throws cannot cause a retry
 * storm of the same entry.
 */
export function logErrorAt(
  logger: Logger,
  level: LogLevel,
  err: unknown,
  msg: string | undefined,
  fields: LogFields | undefined,
): boolean {
  if (isLogged(err)) return false;
  // Checked before marking, so a bad level cannot leave an error marked but unlogged.
  if (typeof logger[level] !== 'function') {
    throw new InvalidArgumentError('level', 'must be one of debug, info, warn, error');
  }
  if (isObject(err)) mark(err);
  if (typeof logger.isLevelEnabled === 'function' && !logger.isLevelEnabled(level)) return true;
  logger[level](msg ?? defaultMessage(err), { ...fields, err });
  return true;
}

/**
 * Log an error exactly once, at `error` level, under the `err` field: its type,
 * message, GirderError `code`, stack, cause chain and the context collected with
 * `annotate` on the way up. A second call for the same error object does nothing and
 * returns `false` — so layers that each "log and rethrow" write one entry, not five.
 *
 * @param msg - the entry message; defaults to the error's message.
 * @param fields - extra fields for this entry (request id, route...).
 * @returns `true` when this call handled the error, `false` when it was logged before.
 * @throws InvalidArgumentError when `logger` is not a Logger.
 *
 * @example
 * ```ts
 * import { annotate, logError } from 'girder/logger';
 *
 * try {
 *   await chargeCard(order);
 * } catch (err) {
 *   logError(logger, annotate(err, { orderId: order.id }), 'payment failed', { route: '/pay' });
 *   logError(logger, err); // no-op: already logged
 * }
 * ```
 */
export function logError(logger: Logger, err: unknown, msg?: string, fields?: LogFields): boolean {
  assertLogger(logger);
  return logErrorAt(logger, 'error', err, msg, fields);
}
