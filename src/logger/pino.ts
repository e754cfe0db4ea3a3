// Type-only: girder never loads pino itself; the caller creates and passes the instance.
import type { Bindings, ChildLoggerOptions, LogFn } from 'pino';
import { z } from 'zod';
import { InvalidArgumentError, parseOptions } from '../core/index.js';
import { describe, failureReporter } from './failure.js';
import { coerceFields, isFields } from './fields.js';
import { levelRank } from './levels.js';
import type { LogFields, Logger, LogLevel } from './logger.js';
import { type RedactOptions, redactOptionSchema, walkerFor } from './redact.js';
import type { Walker } from './walk.js';

/**
 * The part of a pino logger that {@link pinoLogger} uses. Any pino 9+ instance
 * satisfies it, and so does Fastify's `request.log` (whose type omits
 * `isLevelEnabled`).
 *
 * @example
 * ```ts
 * import pino from 'pino';
 * import type { PinoLike } from 'girder/logger';
 *
 * const instance: PinoLike = pino();
 * ```
 */
export interface PinoLike {
  /** pino's `debug(obj, msg)`. */
  debug: LogFn;
  /** pino's `info(obj, msg)`. */
  info: LogFn;
  /** pino's `warn(obj, msg)`. */
  warn: LogFn;
  /** pino's `error(obj, msg)`. */
  error: LogFn;
  /** pino's `child(bindings, options)`. */
  child(bindings: Bindings, options?: ChildLoggerOptions): PinoLike;
  /** pino's level check; when absent every level counts as enabled and pino filters. */
  isLevelEnabled?(level: string): boolean;
}

/**
 * Options of {@link pinoLogger}.
 *
 * @example
 * ```ts
 * import type { PinoLoggerOptions } from 'girder/logger';
 *
 * const options: PinoLoggerOptions = {
 *   redact: { extraKeys: ['pin'], partial: { email: true } },
 *   onError: (err) => metrics.logWriteFailures.inc(),
 * };
 * ```
 */
export interface PinoLoggerOptions {
  /**
   * girder's redaction, applied before pino sees the fields: `true` (default rules),
   * `false`, or {@link RedactOptions}. pino's own `redact` option (exact paths, set
   * when you create the instance) still applies after it. Default `true`.
   */
  redact?: boolean | RedactOptions;
  /**
   * Called when pino throws while writing (a failing custom stream). Default: one
   * process warning for the first failure, later ones dropped. Errors it throws are
   * swallowed.
   */
  onError?: (error: unknown) => void;
}

const schema = z.strictObject({
  redact: redactOptionSchema,
  onError: z
    .custom<(error: unknown) => void>((v) => typeof v === 'function', {
      message: 'must be a function',
    })
    .optional(),
});

const instanceMethods = ['debug', 'info', 'warn', 'error', 'child'] as const;

let defaultWalker: Walker | undefined;

function isEmpty(options: object): boolean {
  for (const _ in options) return false;
  return true;
}

// girder serialises errors itself (code, context, cause chain); pino's `err`
// serializer would treat that plain record as an error again and rename its type.
const passThrough = (value: unknown) => value;

function wrap(instance: PinoLike, walker: Walker, report: (error: unknown) => void): Logger {
  const enabled = (level: LogLevel) => instance.isLevelEnabled?.(level) ?? true;

  const at = (level: LogLevel) => {
    return (msg: string, fields?: LogFields): void => {
      // Check first: a disabled level costs no redaction work.
      if (!enabled(level)) return;
      let prepared: LogFields | undefined;
      try {
        const coerced = coerceFields(fields);
        prepared = coerced === undefined ? undefined : walker.fields(coerced);
      } catch (error) {
        prepared = { logFailure: `fields could not be serialised: ${describe(error)}` };
      }
      try {
        // pino's order is (object, message).
        if (prepared === undefined) instance[level](msg);
        else instance[level](prepared, msg);
      } catch (error) {
        report(error);
      }
    };
  };

  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child(fields) {
      if (!isFields(fields)) throw new InvalidArgumentError('fields', 'must be an object');
      // Bindings are redacted once here; pino serialises them once per child.
      return wrap(instance.child({ ...walker.fields(fields) }), walker, report);
    },
    isLevelEnabled(level) {
      levelRank(level); // reject unknown names like the other adapters
      return enabled(level);
    },
  };
}

/**
 * Adapt a pino logger you created (pino is an optional peer dependency; girder never
 * imports it at runtime). Level filtering, transports, formatters and pino's own
 * `redact` paths stay as you configured them; girder adds its redaction (on by
 * default) and its error serialisation in front, and maps `info(msg, fields)` to
 * pino's `info(fields, msg)`. Children map to pino children.
 *
 * Errors reach pino already serialised, so for entries written through this adapter
 * the `err` serializer of the instance is replaced by a pass-through.
 *
 * @throws InvalidArgumentError when `instance` is not a pino logger.
 * @throws InvalidOptionsError naming the bad option.
 *
 * @example
 * ```ts
 * import pino from 'pino';
 * import { pinoLogger } from 'girder/logger';
 *
 * const logger = pinoLogger(pino({ level: 'info' }));
 * logger.child({ service: 'orders' }).info('order placed', { orderId: 42, token: 'abc' });
 * // {"level":30,...,"service":"orders","orderId":42,"token":"[REDACTED]","msg":"order placed"}
 *
 * // In Fastify, per request:
 * app.get('/health', async (request) => {
 *   pinoLogger(request.log).debug('health check');
 *   return { ok: true };
 * });
 * ```
 */
export function pinoLogger(instance: PinoLike, options: PinoLoggerOptions = {}): Logger {
  if (
    typeof instance !== 'object' ||
    instance === null ||
    instanceMethods.some((name) => typeof instance[name] !== 'function')
  ) {
    throw new InvalidArgumentError('instance', 'must be a pino logger');
  }
  // Per-request adapters (`pinoLogger(request.log)`) with default options skip parsing
  // and share one compiled redactor.
  let walker: Walker;
  let onError: ((error: unknown) => void) | undefined;
  if (isFields(options) && isEmpty(options)) {
    defaultWalker ??= walkerFor(parseOptions('pinoLogger', schema, {}).redact);
    walker = defaultWalker;
  } else {
    const parsed = parseOptions('pinoLogger', schema, options);
    walker = walkerFor(parsed.redact);
    onError = parsed.onError;
  }
  const base = instance.child({}, { serializers: { err: passThrough } });
  return wrap(base, walker, failureReporter(onError));
}
