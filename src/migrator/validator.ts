// validator(): the chunk-checksum validator of girder/migrator.
import type { Validator, ValidatorOptions } from './validator-types.js';

/**
 * Compare a table on two databases: keyset chunks checksummed by each database, and only
 * the chunks that differ compared row by row (missing, extra, changed).
 *
 * @example
 * ```ts
 * import { validator } from 'girder/migrator';
 *
 * const check = validator({ source, target, table: 'orders', key: 'id', columns: ['total', 'status'] });
 * const result = await check.start().result;
 * console.log(result.differences, result.diffs);
 * ```
 */
export function validator(options: ValidatorOptions): Validator {
  void options;
  throw new Error('validator: not implemented yet');
}
