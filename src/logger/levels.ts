import { z } from 'zod';
import { InvalidArgumentError } from '../core/index.js';
import type { LevelThreshold, LogLevel } from './logger.js';

// Numeric ranks (pino's values) so filtering is one comparison.
const DEBUG = 20;
const INFO = 30;
const WARN = 40;
const ERROR = 50;

/** Schema of a `level` option. */
export const thresholdSchema = z.enum(['debug', 'info', 'warn', 'error', 'silent']);

/** Schema of a level that an entry can have (no `silent`). */
export const levelSchema = z.enum(['debug', 'info', 'warn', 'error']);

/** Rank of a threshold option (already validated by a schema). */
export function thresholdRank(threshold: LevelThreshold): number {
  return threshold === 'silent' ? Number.POSITIVE_INFINITY : levelRank(threshold);
}

/**
 * Rank of a level passed at runtime. Unknown names are a caller bug, so they throw
 * rather than silently answering `false`.
 */
export function levelRank(level: LogLevel): number {
  // A switch, not a map lookup, so names like `toString` cannot hit the prototype.
  switch (level) {
    case 'debug':
      return DEBUG;
    case 'info':
      return INFO;
    case 'warn':
      return WARN;
    case 'error':
      return ERROR;
    default:
      throw new InvalidArgumentError('level', `must be one of debug, info, warn, error`);
  }
}
