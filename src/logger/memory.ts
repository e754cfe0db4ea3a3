import { z } from 'zod';
import { type Clock, parseOptions, systemClock } from '../core/index.js';
import { thresholdRank, thresholdSchema } from './levels.js';
import type { LevelThreshold, LogFields, Logger, LogLevel } from './logger.js';
import { type RedactOptions, redactOptionSchema, walkerFor } from './redact.js';
import { structuredLogger } from './structured.js';

/**
 * One entry recorded by {@link memoryLogger}.
 *
 * @example
 * ```ts
 * import type { LogEntry } from 'girder/logger';
 *
 * const entry: LogEntry = { time: 0, level: 'warn', msg: 'retrying', fields: { attempt: 2 } };
 * ```
 */
export interface LogEntry {
  /** Timestamp from the logger's clock, in epoch milliseconds. */
  readonly time: number;
  /** Level of the entry. */
  readonly level: LogLevel;
  /** The message. */
  readonly msg: string;
  /** Child fields merged with the entry's fields, after redaction and error serialisation. */
  readonly fields: LogFields;
}

/**
 * A {@link Logger} that keeps its entries in memory, for tests. Children append to the
 * same list as their parent.
 *
 * @example
 * ```ts
 * import { memoryLogger } from 'girder/logger';
 *
 * const logger = memoryLogger();
 * logger.child({ job: 'sync' }).warn('retrying', { attempt: 2 });
 * logger.entries[0]; // { time: ..., level: 'warn', msg: 'retrying', fields: { job: 'sync', attempt: 2 } }
 * logger.clear();
 * ```
 */
export interface MemoryLogger extends Logger {
  /** Entries in the order they were written, shared with every child. */
  readonly entries: readonly LogEntry[];
  /** Forget every entry recorded so far (by this logger and its children). */
  clear(): void;
  /** Children are memory loggers too, writing to the same `entries`. */
  child(fields: LogFields): MemoryLogger;
}

/**
 * Options of {@link memoryLogger}.
 *
 * @example
 * ```ts
 * import { manualClock } from 'girder/core';
 * import type { MemoryLoggerOptions } from 'girder/logger';
 *
 * const options: MemoryLoggerOptions = { level: 'info', clock: manualClock(0), redact: false };
 * ```
 */
export interface MemoryLoggerOptions {
  /** Lowest level recorded. Default `debug` (record everything). */
  level?: LevelThreshold;
  /** Source of entry timestamps; pass a `manualClock` for exact assertions. Default `systemClock`. */
  clock?: Clock;
  /**
   * Redaction, as in production so tests see what would be written: `true` (default
   * rules), `false`, or {@link RedactOptions}. Default `true`.
   */
  redact?: boolean | RedactOptions;
}

const schema = z.strictObject({
  level: thresholdSchema.default('debug'),
  clock: z
    .custom<Clock>(
      (v) => typeof v === 'object' && v !== null && typeof (v as Clock).now === 'function',
      { message: 'must be a Clock' },
    )
    .default(systemClock),
  redact: redactOptionSchema,
});

function withEntries(logger: Logger, entries: LogEntry[]): MemoryLogger {
  return {
    debug: logger.debug,
    info: logger.info,
    warn: logger.warn,
    error: logger.error,
    isLevelEnabled: logger.isLevelEnabled,
    child: (fields) => withEntries(logger.child(fields), entries),
    entries,
    clear() {
      entries.length = 0;
    },
  };
}

/**
 * A logger that records entries in an array instead of writing them: the logger to
 * hand to girder primitives (or your own code) in tests, then assert on `entries`.
 * Each entry's fields are a fresh object (child fields merged in), redacted and with
 * errors serialised, exactly as a production adapter would receive them; nested
 * objects that needed no change are shared with the caller.
 *
 * @throws InvalidOptionsError naming the bad option.
 *
 * @example
 * ```ts
 * import { expect, test } from 'vitest';
 * import { manualClock } from 'girder/core';
 * import { memoryLogger } from 'girder/logger';
 *
 * test('warns on retry', async () => {
 *   const logger = memoryLogger({ clock: manualClock(1_000) });
 *   await syncOrders({ logger });
 *   expect(logger.entries).toContainEqual({
 *     time: 1_000,
 *     level: 'warn',
 *     msg: 'retrying',
 *     fields: { attempt: 2 },
 *   });
 * });
 * ```
 */
export function memoryLogger(options: MemoryLoggerOptions = {}): MemoryLogger {
  const parsed = parseOptions('memoryLogger', schema, options);
  const entries: LogEntry[] = [];
  const { clock } = parsed;
  const logger = structuredLogger({
    threshold: thresholdRank(parsed.level),
    walker: walkerFor(parsed.redact),
    emit: (level, msg, fields) => {
      entries.push({ time: clock.now(), level, msg, fields: { ...fields } });
    },
  });
  return withEntries(logger, entries);
}
