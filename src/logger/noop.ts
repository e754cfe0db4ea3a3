import { levelRank } from './levels.js';
import type { Logger } from './logger.js';

const noop = () => {};

const silent: Logger = {
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
  child: () => silent,
  isLevelEnabled: (level) => {
    levelRank(level); // still rejects unknown levels, like every other adapter
    return false;
  },
};
Object.freeze(silent);

/**
 * A logger that discards everything, at the cost of an empty function call;
 * `isLevelEnabled` is always false so callers skip building fields. A sensible default of
 * an optional `logger` option.
 *
 * @example
 * ```ts
 * import { noopLogger } from 'girder/logger';
 *
 * const logger = noopLogger();
 * logger.error('never written');
 * logger.child({ a: 1 }) === logger; // true
 * ```
 */
export function noopLogger(): Logger {
  return silent;
}
