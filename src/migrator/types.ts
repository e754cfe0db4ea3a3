// Types shared by the dual writer, validator, fixer and control of girder/migrator.

/**
 * The four phases of a live table move, in order.
 * - `source-only`: reads and writes go to the source;
 * - `source-first`: reads from the source, writes to the source then the target;
 * - `target-first`: reads from the target, writes to the target then the source;
 * - `target-only`: reads and writes go to the target.
 *
 * @example
 * ```ts
 * const phase: Phase = 'source-first';
 * ```
 */
export type Phase = 'source-only' | 'source-first' | 'target-first' | 'target-only';

/** The phases in order. */
export const PHASES: readonly Phase[] = [
  'source-only',
  'source-first',
  'target-first',
  'target-only',
];

/**
 * One row that differs between the two sides, found by the validator or recorded by the
 * dual writer's repair log, and handed to the fixer.
 *
 * @example
 * ```ts
 * const diff: Inconsistency = { table: 'orders', key: { id: 42 }, kind: 'changed' };
 * ```
 */
export interface Inconsistency {
  /** Table name (on the source side). */
  readonly table: string;
  /** Primary-key column values of the row. */
  readonly key: Readonly<Record<string, unknown>>;
  /**
   * `missing`: on the source, not on the target; `extra`: on the target, not on the
   * source; `changed`: on both, with different values; `write-failed`: the dual writer's
   * secondary write failed.
   */
  readonly kind: 'missing' | 'extra' | 'changed' | 'write-failed';
}
