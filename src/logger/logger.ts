/**
 * Severity of one log entry, lowest first. girder keeps four: `trace` is noise in
 * production and `fatal` is rarely told apart from `error` by the people on call.
 *
 * @example
 * ```ts
 * import type { LogLevel, Logger } from 'girder/logger';
 *
 * function logAt(logger: Logger, level: LogLevel, msg: string) {
 *   if (logger.isLevelEnabled(level)) logger[level](msg);
 * }
 * ```
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/**
 * The minimum level a logger writes: a {@link LogLevel}, or `silent` to write nothing.
 *
 * @example
 * ```ts
 * import { consoleLogger, type LevelThreshold } from 'girder/logger';
 *
 * const level = (process.env.LOG_LEVEL ?? 'info') as LevelThreshold;
 * const logger = consoleLogger({ level });
 * ```
 */
export type LevelThreshold = LogLevel | 'silent';

/**
 * Structured context of one entry. Any `Error` value, at any depth (usually under
 * `err`), is serialised to `{type, message, code, stack, context, cause}`; sensitive
 * keys are redacted by the adapters girder builds.
 *
 * @example
 * ```ts
 * import type { LogFields } from 'girder/logger';
 *
 * const fields: LogFields = { orderId: 42, userId: 'u-7', err: new Error('stock exhausted') };
 * ```
 */
export type LogFields = Record<string, unknown>;

/**
 * The logging contract every girder module accepts. Adapters: {@link pinoLogger}
 * (production), {@link consoleLogger} (no dependency), {@link memoryLogger} (tests),
 * {@link noopLogger} (off). A logger never throws from a log call: failures to
 * serialise or write are reported out of band (see each adapter's `onError`).
 *
 * @example
 * ```ts
 * import { consoleLogger, type Logger } from 'girder/logger';
 *
 * function placeOrder(logger: Logger, orderId: number) {
 *   const log = logger.child({ orderId });
 *   log.info('order placed', { items: 3 });
 *   if (log.isLevelEnabled('debug')) log.debug('basket', { basket: expensiveDump() });
 * }
 *
 * placeOrder(consoleLogger(), 42);
 * ```
 */
export interface Logger {
  /** Diagnostic detail, normally off in production. */
  debug(msg: string, fields?: LogFields): void;
  /** Something worth knowing happened; neither good nor bad. */
  info(msg: string, fields?: LogFields): void;
  /** Something went wrong but was tolerated (a retry, a fallback, a slow call). */
  warn(msg: string, fields?: LogFields): void;
  /** Something failed and someone may need to look. */
  error(msg: string, fields?: LogFields): void;
  /**
   * A logger that adds `fields` to every entry it writes. The fields are redacted once,
   * here, rather than on every call. Entry fields win over child fields on a clash.
   */
  child(fields: LogFields): Logger;
  /**
   * True when entries of `level` would be written, so hot paths can skip building
   * expensive fields. Throws `InvalidArgumentError` for an unknown level.
   */
  isLevelEnabled(level: LogLevel): boolean;
}
