import type { LogFields } from './logger.js';

/** True for a value usable as {@link LogFields}: a non-null, non-array object. */
export function isFields(value: unknown): value is LogFields {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Coerce whatever reached a log call into fields. A log call must never throw, so a
 * misuse is recorded rather than rejected: `log.error('x', err)` becomes `{err}`, and
 * any other non-object goes under `fields`.
 */
export function coerceFields(value: unknown): LogFields | undefined {
  if (value === undefined) return undefined;
  if (value instanceof Error) return { err: value };
  if (isFields(value)) return value;
  return { fields: value };
}
