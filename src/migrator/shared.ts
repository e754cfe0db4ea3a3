// Small pieces shared by the migrator's files: option schemas, phase checks, key access.
import type { Kysely } from 'kysely';
import { z } from 'zod';
import { InvalidArgumentError } from '../core/index.js';
import type { Logger } from '../logger/index.js';
import { InvalidPhaseError } from './errors.js';
import { PHASES, type Phase } from './types.js';

/**
 * Any application database: tables are named at run time, so rows are loosely typed.
 *
 * @example
 * ```ts
 * const db: AnyDb = new Kysely<Database>({ dialect });
 * ```
 */
// biome-ignore lint/suspicious/noExplicitAny: the caller's own database type, viewed loosely.
export type AnyDb = Kysely<any>;

/**
 * A row (or patch) as column name → value.
 *
 * @example
 * ```ts
 * const row: Row = { id: 42, status: 'paid' };
 * ```
 */
export type Row = Record<string, unknown>;

/** Throws {@link InvalidPhaseError} unless `value` is one of the four phases. */
export function checkPhase(value: unknown): Phase {
  if (typeof value !== 'string' || !(PHASES as readonly string[]).includes(value)) {
    throw new InvalidPhaseError(value);
  }
  return value as Phase;
}

/** Which side is in charge (read, written first) in `phase`. */
export const primaryOf = (phase: Phase): Side =>
  phase === 'source-only' || phase === 'source-first' ? 'source' : 'target';

/** Which side is written second in `phase`, if any. */
export const secondaryOf = (phase: Phase): Side | undefined =>
  phase === 'source-first' ? 'target' : phase === 'target-first' ? 'source' : undefined;

/**
 * One of the two databases of a migration.
 *
 * @example
 * ```ts
 * const side: Side = 'target';
 * ```
 */
export type Side = 'source' | 'target';

export const otherSide = (side: Side): Side => (side === 'source' ? 'target' : 'source');

export const kyselySchema = z.custom<AnyDb>(
  (v) =>
    typeof v === 'object' &&
    v !== null &&
    typeof (v as AnyDb).selectFrom === 'function' &&
    typeof (v as AnyDb).executeQuery === 'function',
  { message: 'must be a Kysely instance' },
);

/** Letters, digits and underscores, optionally schema-qualified: safe as an identifier. */
export const identifierSchema = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/, 'must be a plain SQL identifier')
  .max(120);

/** A plain column name. */
export const columnSchema = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a plain SQL column name')
  .max(63);

export const nameSchema = z.string().min(1).max(200);

export const loggerSchema = z.custom<Logger>(
  (v) =>
    typeof v === 'object' &&
    v !== null &&
    typeof (v as Logger).info === 'function' &&
    typeof (v as Logger).warn === 'function' &&
    typeof (v as Logger).error === 'function',
  { message: 'must be a Logger' },
);

export const fnSchema = <F>(message = 'must be a function') =>
  z.custom<F>((v) => typeof v === 'function', { message });

/** The key value of an inconsistency or repair entry, checked. */
export function keyValueOf(key: unknown, column: string): unknown {
  if (typeof key !== 'object' || key === null || !(column in key)) {
    throw new InvalidArgumentError('key', `must be an object holding the "${column}" column`);
  }
  const value = (key as Record<string, unknown>)[column];
  checkKeyValue(value);
  return value;
}

/** A primary-key value: a string, finite number or bigint. */
export function checkKeyValue(value: unknown): void {
  const ok =
    (typeof value === 'string' && value.length > 0) ||
    (typeof value === 'number' && Number.isFinite(value)) ||
    typeof value === 'bigint';
  if (!ok)
    throw new InvalidArgumentError(
      'key',
      'must be a non-empty string, a finite number or a bigint',
    );
}

/** A plain object of column values, checked. */
export function checkRow(row: unknown, what: string): Row {
  if (typeof row !== 'object' || row === null || Array.isArray(row)) {
    throw new InvalidArgumentError(what, 'must be an object of column values');
  }
  const keys = Object.keys(row);
  if (keys.length === 0) throw new InvalidArgumentError(what, 'has no columns');
  for (const k of keys) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) {
      throw new InvalidArgumentError(what, `"${k}" is not a plain column name`);
    }
  }
  return row as Row;
}

/** The message of any thrown value, for logs and the repair log. */
export const errorText = (error: unknown): string =>
  (error instanceof Error ? error.message : String(error)).slice(0, 2000);

/** Throws `InvalidArgumentError` unless `db` is a Kysely instance. */
export function checkDb(db: unknown, what: string): AnyDb {
  if (!kyselySchema.safeParse(db).success) {
    throw new InvalidArgumentError(what, 'must be a Kysely instance');
  }
  return db as AnyDb;
}
