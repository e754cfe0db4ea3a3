import { z } from 'zod';
import { InvalidArgumentError, parseOptions } from '../core/index.js';
import { levelSchema } from './levels.js';
import { logErrorAt } from './log-error.js';
import type { LogFields, Logger, LogLevel } from './logger.js';

/**
 * Options of {@link handled}. `A` is the tuple of the handler's arguments, so the
 * callbacks see them typed (a Fastify `request`, an RPC call...).
 *
 * @example
 * ```ts
 * import type { FastifyRequest } from 'fastify';
 * import type { HandledOptions } from 'girder/logger';
 *
 * const options: HandledOptions<[FastifyRequest]> = {
 *   logger,
 *   message: 'order request failed',
 *   fields: (request) => ({ method: request.method, url: request.url }),
 *   level: (err) => (isGirderError(err, 'INVALID_ARGUMENT') ? 'warn' : 'error'),
 * };
 * ```
 */
export interface HandledOptions<A extends unknown[]> {
  /** Where failures go: a logger, or a function picking one per call (e.g. a request logger). */
  logger: Logger | ((...args: A) => Logger);
  /** Entry message. Default `"<handler name> failed"` (or `"handler failed"`). */
  message?: string | ((err: unknown, ...args: A) => string);
  /**
   * Fields describing the call, computed only when it fails. If this throws, the
   * entry is still written, with `fieldsError` instead.
   */
  fields?: (...args: A) => LogFields;
  /** Level of the entry, fixed or per error (e.g. `warn` for client errors). Default `error`. */
  level?: LogLevel | ((err: unknown) => LogLevel);
}

const isFunction = (value: unknown) => typeof value === 'function';

const schema = z.strictObject({
  logger: z.custom<unknown>(
    (value) =>
      isFunction(value) ||
      (typeof value === 'object' &&
        value !== null &&
        isFunction((value as Partial<Logger>).error) &&
        isFunction((value as Partial<Logger>).warn)),
    { message: 'must be a Logger or a function returning one' },
  ),
  message: z
    .union([z.string(), z.custom<unknown>(isFunction)], {
      error: 'must be a string or a function',
    })
    .optional(),
  fields: z.custom<unknown>(isFunction, { message: 'must be a function' }).optional(),
  level: z
    .union([levelSchema, z.custom<unknown>(isFunction)], {
      error: 'must be debug, info, warn, error or a function',
    })
    .default('error'),
});

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Wrap a handler so that any error it throws (or rejects with) is logged exactly once,
 * with the call's fields, the error's `code`, cause chain and `annotate` context, and
 * then rethrown unchanged for the framework to turn into a response. Inside the handler
 * you just `throw` (optionally `throw annotate(err, {...})`) instead of logging in
 * every branch. Errors already logged (by an inner `handled` or `logError`) are not
 * logged again.
 *
 * The wrapper always returns a promise. Logging never replaces the handler's error: if
 * resolving the logger or building the message fails, a process warning is emitted
 * and the original error is still rethrown.
 *
 * @throws InvalidArgumentError when `handler` is not a function.
 * @throws InvalidOptionsError naming the bad option.
 *
 * @example
 * ```ts
 * import { annotate, handled, pinoLogger } from 'girder/logger';
 *
 * app.get(
 *   '/orders/:id',
 *   handled(
 *     async (request: FastifyRequest<{ Params: { id: string } }>) => {
 *       const order = await orders.find(request.params.id);
 *       if (!order) throw new NotFoundError('order');
 *       return order;
 *     },
 *     {
 *       logger: (request) => pinoLogger(request.log),
 *       fields: (request) => ({ route: '/orders/:id', id: request.params.id }),
 *     },
 *   ),
 * );
 * ```
 */
export function handled<A extends unknown[], R, T = unknown>(
  handler: (this: T, ...args: A) => R,
  options: HandledOptions<A>,
): (this: T, ...args: A) => Promise<Awaited<R>> {
  if (typeof handler !== 'function') {
    throw new InvalidArgumentError('handler', 'must be a function');
  }
  const parsed = parseOptions('handled', schema, options) as Required<
    Pick<HandledOptions<A>, 'logger' | 'level'>
  > &
    Pick<HandledOptions<A>, 'message' | 'fields'>;
  const defaultMessage = `${handler.name || 'handler'} failed`;

  const report = (err: unknown, args: A) => {
    try {
      const logger = typeof parsed.logger === 'function' ? parsed.logger(...args) : parsed.logger;
      let fields: LogFields | undefined;
      try {
        fields = parsed.fields?.(...args);
      } catch (fieldsError) {
        fields = { fieldsError: describe(fieldsError) };
      }
      const level = typeof parsed.level === 'function' ? parsed.level(err) : parsed.level;
      const message =
        typeof parsed.message === 'function'
          ? parsed.message(err, ...args)
          : (parsed.message ?? defaultMessage);
      logErrorAt(logger, level, err, message, fields);
    } catch (reportError) {
      process.emitWarning(
        `girder: handled() could not log an error: ${describe(reportError)}`,
        'GirderLoggerWarning',
      );
    }
  };

  return async function handledHandler(this: T, ...args: A): Promise<Awaited<R>> {
    try {
      return await handler.apply(this, args);
    } catch (err) {
      report(err, args);
      throw err;
    }
  };
}
