// Small pieces shared by the migrator's files: option schemas, phase checks, key access.
import type { Kysely } from 'kysely';
import { z } from 'zod';
import { type Clock, clockSchema, InvalidArgumentError, systemClock } from '../core/index.js';
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

/** The `key` option: one column, or the columns of a composite key (distinct, 1 to 16). */
export const keyOptionSchema = z.union([
  columnSchema,
  z
    .array(columnSchema)
    .min(1)
    .max(16)
    .refine((columns) => new Set(columns).size === columns.length, {
      message: 'key columns must be distinct',
    }),
]);

/**
 * The options `dualWrite` and `fixer` share: the two sides of one table and how rows map
 * between them. Pass the same object to both so they agree on the key, the version
 * column and the mapping.
 *
 * @example
 * ```ts
 * const orders: MigrationSideOptions = {
 *   source, target, table: 'orders', key: ['tenant_id', 'id'], version: 'version',
 * };
 * const writer = dualWrite({ ...orders, phase });
 * const fix = fixer({ ...orders, version: 'version', primary: phase });
 * ```
 */
export interface MigrationSideOptions {
  /** The database the table moves from. */
  source: AnyDb;
  /** The database the table moves to. */
  target: AnyDb;
  /** Table name on the source. */
  table: string;
  /** Table name on the target. Default: `table`. */
  targetTable?: string;
  /**
   * Primary-key column, or the columns of a composite key in key order (same names on
   * both sides). A key value is then a scalar for one column, and an object of exactly
   * the key columns for a composite key: `{ tenant_id: 3, id: 42 }`.
   */
  key: string | readonly string[];
  /**
   * Version column (an integer counter or an `updated_at` timestamp, same name on both
   * sides; it must grow on every write of a key). Copies never replace a row with a
   * higher version. Optional for `dualWrite` (strongly recommended), required by `fixer`.
   */
  version?: string;
  /** Maps a source-schema row (or patch) to the target schema. Requires `transformBack`. */
  transform?: (row: Row) => Row;
  /** Maps a target row back to the source schema, for copies toward the source. */
  transformBack?: (row: Row) => Row;
  /** Where failed writes and fixes are logged. Default: not logged. */
  logger?: Logger;
  /** Time source of durations and repair log times. Default `systemClock`. */
  clock?: Clock;
}

/** The zod shape of {@link MigrationSideOptions}, spread into each factory's schema. */
export const migrationSideShape = {
  source: kyselySchema,
  target: kyselySchema,
  table: identifierSchema,
  targetTable: identifierSchema.optional(),
  key: keyOptionSchema,
  version: columnSchema.optional(),
  transform: fnSchema<(row: Row) => Row>().optional(),
  transformBack: fnSchema<(row: Row) => Row>().optional(),
  logger: loggerSchema.optional(),
  clock: clockSchema.default(systemClock),
};

/** The cross-field rule of {@link MigrationSideOptions}: `.refine(transformPair.check, transformPair.error)`. */
export const transformPair = {
  check: (o: { transform?: unknown; transformBack?: unknown }) =>
    (o.transform === undefined) === (o.transformBack === undefined),
  error: { message: 'transform and transformBack go together', path: ['transformBack'] },
};
