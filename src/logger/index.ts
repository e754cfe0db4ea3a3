/**
 * Structured logging for girder and the services built on it: one small
 * {@link Logger} interface, adapters for pino (production), the console (no
 * dependency), memory (tests) and no-op; redaction of secrets and partial masking of
 * phone numbers on by default; error serialisation with `code`, `cause` chain and
 * context; and a log-once pattern for handlers (`annotate` on the way up, `handled` or
 * `logError` at the boundary) so no branch needs its own "log and return".
 *
 * @example
 * ```ts
 * import pino from 'pino';
 * import { annotate, handled, pinoLogger } from 'girder/logger';
 *
 * const logger = pinoLogger(pino());
 * const getOrder = handled(
 *   async (id: string) => {
 *     try {
 *       return await db.orders.find(id);
 *     } catch (err) {
 *       throw annotate(err, { orderId: id });
 *     }
 *   },
 *   { logger, message: 'getOrder failed' },
 * );
 * ```
 *
 * @module logger
 */

export { annotate, annotationsOf } from './annotate.js';
export {
  type ConsoleLoggerOptions,
  consoleLogger,
  type LogStream,
} from './console.js';
export { type HandledOptions, handled } from './handled.js';
export { isLogged, logError } from './log-error.js';
export type { LevelThreshold, LogFields, Logger, LogLevel } from './logger.js';
export { maskEmail, maskPhone } from './mask.js';
export {
  type LogEntry,
  type MemoryLogger,
  type MemoryLoggerOptions,
  memoryLogger,
} from './memory.js';
export { noopLogger } from './noop.js';
export { type PinoLike, type PinoLoggerOptions, pinoLogger } from './pino.js';
export {
  defaultEmailKeys,
  defaultPhoneKeys,
  defaultRedactKeys,
  type PartialMaskOptions,
  type PartialMaskRule,
  type RedactOptions,
  type Redactor,
  redactor,
} from './redact.js';
export {
  type SerializedError,
  type SerializeErrorOptions,
  serializeError,
} from './serialize-error.js';
