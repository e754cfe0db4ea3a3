import { InvalidArgumentError } from '../core/index.js';
import { describe } from './failure.js';
import { coerceFields, isFields } from './fields.js';
import { levelRank } from './levels.js';
import type { LogFields, Logger, LogLevel } from './logger.js';
import type { Walker } from './walk.js';

/** Receives one entry that passed the level filter, with fields already made safe. */
export type Emit = (level: LogLevel, msg: string, fields: LogFields) => void;

/** What girder's own adapters (console, memory) share; pino brings its own. */
export interface StructuredConfig {
  /** Rank below which entries are dropped. */
  readonly threshold: number;
  readonly walker: Walker;
  readonly emit: Emit;
}

const EMPTY: LogFields = Object.freeze({});

function merge(bindings: LogFields, fields: LogFields): LogFields {
  // Avoid a copy when one side is empty: the sink serialises right away.
  if (bindings === EMPTY) return fields;
  return { ...bindings, ...fields };
}

/**
 * A {@link Logger} over an {@link Emit} function: level filtering, child bindings
 * (made safe once, at `child()`), and preparation of entry fields. Failing to prepare
 * fields (a throwing getter, a throwing custom mask) still emits the entry, with
 * `logFailure` in place of the fields, so the event itself is not lost.
 */
export function structuredLogger(config: StructuredConfig, bindings: LogFields = EMPTY): Logger {
  const { threshold, walker, emit } = config;

  const prepare = (fields: unknown): LogFields => {
    try {
      const coerced = coerceFields(fields);
      return coerced === undefined ? bindings : merge(bindings, walker.fields(coerced));
    } catch (error) {
      return merge(bindings, { logFailure: `fields could not be serialised: ${describe(error)}` });
    }
  };

  const at = (level: LogLevel) => {
    const rank = levelRank(level);
    return (msg: string, fields?: LogFields): void => {
      if (rank < threshold) return;
      emit(level, typeof msg === 'string' ? msg : describe(msg), prepare(fields));
    };
  };

  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child(fields) {
      if (!isFields(fields)) throw new InvalidArgumentError('fields', 'must be an object');
      // Always a copy: the caller may keep mutating the object it passed.
      return structuredLogger(config, { ...bindings, ...walker.fields(fields) });
    },
    isLevelEnabled: (level) => levelRank(level) >= threshold,
  };
}
