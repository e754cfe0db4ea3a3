import { z } from 'zod';
import { type Clock, parseOptions, systemClock } from '../core/index.js';
import { describe, failureReporter } from './failure.js';
import { thresholdRank, thresholdSchema } from './levels.js';
import type { LevelThreshold, LogFields, Logger, LogLevel } from './logger.js';
import { type RedactOptions, redactOptionSchema, walkerFor } from './redact.js';
import { structuredLogger } from './structured.js';

/**
 * Where {@link consoleLogger} writes: anything with a `write(string)` method, such as
 * `process.stdout`, `process.stderr`, a file stream or a test capture.
 *
 * @example
 * ```ts
 * import type { LogStream } from 'girder/logger';
 *
 * const lines: string[] = [];
 * const capture: LogStream = { write: (line) => lines.push(line) };
 * ```
 */
export interface LogStream {
  /** Receives one complete line, ending in `\n`. */
  write(line: string): unknown;
}

/**
 * Options of {@link consoleLogger}.
 *
 * @example
 * ```ts
 * import type { ConsoleLoggerOptions } from 'girder/logger';
 *
 * const options: ConsoleLoggerOptions = {
 *   level: 'debug',
 *   format: process.stdout.isTTY ? 'pretty' : 'json',
 *   redact: { extraKeys: ['pin'] },
 *   onError: (err) => process.stderr.write(`log write failed: ${String(err)}\n`),
 * };
 * ```
 */
export interface ConsoleLoggerOptions {
  /** Lowest level written. Default `info`. */
  level?: LevelThreshold;
  /**
   * `json`: one JSON object per line (`time` in epoch ms, `level`, `msg`, then the
   * fields), for log shippers. `pretty`: `ISO-time LEVEL msg key=value ...` for humans.
   * Default `json`.
   */
  format?: 'json' | 'pretty';
  /** Destination. Default `process.stdout`. */
  stream?: LogStream;
  /** Source of entry timestamps. Default `systemClock`. */
  clock?: Clock;
  /** Redaction: `true` (default rules), `false`, or {@link RedactOptions}. Default `true`. */
  redact?: boolean | RedactOptions;
  /**
   * Called when a line cannot be written (the stream throws). Default: one process
   * warning for the first failure, later ones dropped. Errors it throws are swallowed.
   */
  onError?: (error: unknown) => void;
}

const isFunction = (value: unknown) => typeof value === 'function';

const schema = z.strictObject({
  level: thresholdSchema.default('info'),
  format: z.enum(['json', 'pretty']).default('json'),
  stream: z
    .custom<LogStream>(
      (v) => typeof v === 'object' && v !== null && isFunction((v as LogStream).write),
      {
        message: 'must have a write(line) method',
      },
    )
    .optional(),
  clock: z
    .custom<Clock>((v) => typeof v === 'object' && v !== null && isFunction((v as Clock).now), {
      message: 'must be a Clock',
    })
    .default(systemClock),
  redact: redactOptionSchema,
  onError: z
    .custom<(error: unknown) => void>(isFunction, { message: 'must be a function' })
    .optional(),
});

// Keys every JSON line starts with; same-named fields are written as `_time`, etc.
const reserved = new Set(['time', 'level', 'msg']);

// Second attempt after a plain stringify fails: BigInt is the usual culprit.
const bigintSafe = (_key: string, value: unknown) =>
  typeof value === 'bigint' ? value.toString() : value;

function stringify(value: unknown): string {
  try {
    return JSON.stringify(value) ?? 'null';
  } catch {
    return JSON.stringify(value, bigintSafe) ?? 'null';
  }
}

function jsonLine(time: number, level: LogLevel, msg: string, fields: LogFields): string {
  const line: Record<string, unknown> = { time, level, msg };
  for (const key of Object.keys(fields)) {
    const name = reserved.has(key) ? `_${key}` : key;
    if (name === '__proto__') {
      Object.defineProperty(line, name, { value: fields[key], enumerable: true });
    } else {
      line[name] = fields[key];
    }
  }
  return stringify(line);
}

const bareWord = /^[^\s"=\\]+$/;

function prettyValue(value: unknown): string {
  if (typeof value === 'string') return bareWord.test(value) ? value : JSON.stringify(value);
  if (typeof value === 'object' && value !== null) return stringify(value);
  return String(value);
}

function prettyLine(time: number, level: LogLevel, msg: string, fields: LogFields): string {
  // Escape line breaks so one entry stays one line.
  const iso = Number.isFinite(time) ? new Date(time).toISOString() : String(time);
  let line = `${iso} ${level.toUpperCase().padEnd(5)} ${msg.replace(/\r?\n/g, '\\n')}`;
  for (const key of Object.keys(fields)) {
    const value = fields[key];
    if (value !== undefined) line += ` ${key}=${prettyValue(value)}`;
  }
  return line;
}

/**
 * A logger with no dependency that writes one line per entry to a stream: JSON lines by
 * default, or a readable `pretty` format for local development. Redaction is on by
 * default. A log call never throws: unserialisable fields are replaced by a
 * `logFailure` note and a throwing stream goes to `onError`.
 *
 * @throws InvalidOptionsError naming the bad option (e.g. `level`, `redact.mask`).
 *
 * @example
 * ```ts
 * import { consoleLogger } from 'girder/logger';
 *
 * const logger = consoleLogger({ level: 'debug', format: 'pretty' });
 * logger.info('listening', { port: 3000 });
 * // 2024-05-01T10:00:00.000Z INFO  listening port=3000
 *
 * const json = consoleLogger({ stream: process.stderr });
 * json.warn('login failed', { user: 'ann', password: 'hunter2' });
 * // {"time":1714557600000,"level":"warn","msg":"login failed","user":"ann","password":"[REDACTED]"}
 * ```
 */
export function consoleLogger(options: ConsoleLoggerOptions = {}): Logger {
  const parsed = parseOptions('consoleLogger', schema, options);
  const stream = parsed.stream ?? process.stdout;
  const { clock } = parsed;
  const format = parsed.format === 'json' ? jsonLine : prettyLine;
  const report = failureReporter(parsed.onError);

  const emit = (level: LogLevel, msg: string, fields: LogFields) => {
    const time = clock.now();
    let line: string;
    try {
      line = format(time, level, msg, fields);
    } catch (error) {
      try {
        line = format(time, level, msg, {
          logFailure: `fields could not be serialised: ${describe(error)}`,
        });
      } catch (fallbackError) {
        report(fallbackError);
        return;
      }
    }
    try {
      stream.write(`${line}\n`);
    } catch (error) {
      report(error);
    }
  };

  return structuredLogger({
    threshold: thresholdRank(parsed.level),
    walker: walkerFor(parsed.redact),
    emit,
  });
}
