// The resumable state of validation runs: one row per run, one row per difference found.
import type { AnyKysely } from './validator-types.js';

/**
 * Options of {@link createValidatorStateTable}.
 *
 * @example
 * ```ts
 * await createValidatorStateTable(db, { table: 'shop_validations' });
 * ```
 */
export interface CreateValidatorStateTableOptions {
  /** State table name. Default `girder_validations`; differences go to `<table>_diffs`. */
  table?: string;
}

/**
 * Create the validator's state tables if they do not exist yet (safe on every start).
 *
 * @example
 * ```ts
 * import { createValidatorStateTable, validator } from 'girder/migrator';
 *
 * await createValidatorStateTable(source);
 * const check = validator({ source, target, table: 'orders', key: 'id', columns: ['total'], state: { db: source } });
 * ```
 */
export async function createValidatorStateTable(
  db: AnyKysely,
  options: CreateValidatorStateTableOptions = {},
): Promise<void> {
  void db;
  void options;
  throw new Error('createValidatorStateTable: not implemented yet');
}
