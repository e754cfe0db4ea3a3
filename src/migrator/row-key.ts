// Primary keys of the dual writer and the fixer, single-column or composite. Callers give
// a key value as a scalar for a one-column key and as an object (column name → value,
// exactly the key columns) for a composite key: the same object form the validator puts
// in an Inconsistency, so a diff's key can be passed straight on. Inside, a key is a
// tuple of values in key-column order, which the SQL helpers turn into one `=` per column.
import { InvalidArgumentError } from '../core/index.js';
import type { Row } from './shared.js';

/** @internal The key columns of a table, in key order (one or more). */
export type KeyColumns = readonly string[];

/** @internal A key as values in key-column order. */
export type KeyTuple = readonly unknown[];

/** @internal The key option as a list of columns. */
export const keyColumnsOf = (key: string | readonly string[]): KeyColumns =>
  typeof key === 'string' ? [key] : [...key];

/** A primary-key value: a string, finite number or bigint. */
export function checkKeyValue(value: unknown, what = 'key'): void {
  const ok =
    (typeof value === 'string' && value.length > 0) ||
    (typeof value === 'number' && Number.isFinite(value)) ||
    typeof value === 'bigint';
  if (!ok) {
    throw new InvalidArgumentError(what, 'must be a non-empty string, a finite number or a bigint');
  }
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** The values of a composite key given as an object holding exactly `columns`. */
function compositeTuple(columns: KeyColumns, value: unknown, what: string): KeyTuple {
  const shape = `an object of the key columns ${columns.join(', ')}`;
  if (!isPlainObject(value)) throw new InvalidArgumentError(what, `must be ${shape}`);
  const names = Object.keys(value);
  const stray = names.find((n) => !columns.includes(n));
  if (stray !== undefined) {
    throw new InvalidArgumentError(
      what,
      `holds "${stray}", which is not a key column: must be ${shape}`,
    );
  }
  return columns.map((column) => {
    if (!(column in value))
      throw new InvalidArgumentError(what, `lacks the key column "${column}"`);
    checkKeyValue(value[column], `${what}.${column}`);
    return value[column];
  });
}

/**
 * @internal A caller's key value as a tuple: a scalar for a one-column key, an object of
 * exactly the key columns for a composite key. Throws `InvalidArgumentError` otherwise.
 */
export function keyTuple(columns: KeyColumns, value: unknown, what = 'key'): KeyTuple {
  if (columns.length > 1) return compositeTuple(columns, value, what);
  checkKeyValue(value, what);
  return [value];
}

/**
 * @internal The key of an Inconsistency (always an object of column values) as a tuple.
 * A one-column key may carry other columns (older callers passed whole rows); a composite
 * key must hold exactly its columns.
 */
export function inconsistencyKeyTuple(columns: KeyColumns, value: unknown): KeyTuple {
  if (columns.length > 1) return compositeTuple(columns, value, 'key');
  const [column] = columns as [string];
  if (!isPlainObject(value) || !(column in value)) {
    throw new InvalidArgumentError('key', `must be an object holding the "${column}" column`);
  }
  checkKeyValue(value[column], 'key');
  return [value[column]];
}

/** @internal The caller-facing form of a tuple: the scalar, or an object for a composite key. */
export function keyValue(columns: KeyColumns, tuple: KeyTuple): unknown {
  if (columns.length === 1) return tuple[0];
  return Object.fromEntries(columns.map((c, i) => [c, tuple[i]]));
}

/** @internal The key of a stored row, as a tuple. */
export const rowKeyTuple = (columns: KeyColumns, row: Row): KeyTuple => columns.map((c) => row[c]);

/** @internal Whether a patch or row names any key column. */
export const touchesKey = (columns: KeyColumns, row: Row): boolean => columns.some((c) => c in row);
