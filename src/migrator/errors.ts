import { GirderError } from '../core/index.js';

/**
 * A phase name that is not one of the four (`MIGRATOR_INVALID_PHASE`): given to a phase
 * store, found in a SQL phase row or a live config value.
 *
 * @example
 * ```ts
 * import { InvalidPhaseError, memoryPhaseStore } from 'girder/migrator';
 *
 * try {
 *   await memoryPhaseStore().set('target-frist' as never);
 * } catch (err) {
 *   if (err instanceof InvalidPhaseError) console.error(err.value);
 * }
 * ```
 */
export class InvalidPhaseError extends GirderError {
  /** The value that is not a phase. */
  readonly value: unknown;

  constructor(value: unknown, options?: { cause?: unknown }) {
    super(
      'MIGRATOR_INVALID_PHASE',
      `not a migration phase: ${JSON.stringify(value) ?? String(value)} (expected source-only, source-first, target-first or target-only)`,
      options,
    );
    this.value = value;
  }
}

/**
 * Why {@link PhaseGateError} refused a switch:
 * - `not-adjacent`: the switch skips a phase;
 * - `not-validated`: no completed full validation since the last phase change;
 * - `differences`: the last full validation found differences;
 * - `validation-running`: a validation is running;
 * - `stale-source`: rolling back from `target-only`, where the source stopped receiving writes.
 *
 * @example
 * ```ts
 * const reason: PhaseGateReason = 'not-validated';
 * ```
 */
export type PhaseGateReason =
  | 'not-adjacent'
  | 'not-validated'
  | 'differences'
  | 'validation-running'
  | 'stale-source';

/**
 * A phase switch refused by the gate of `migrationControl` (`MIGRATOR_GATE_CLOSED`);
 * pass `{ force: true }` to override it.
 *
 * @example
 * ```ts
 * import { PhaseGateError } from 'girder/migrator';
 *
 * try {
 *   await control.switchPhase('target-first');
 * } catch (err) {
 *   if (err instanceof PhaseGateError) console.warn(err.reason);
 * }
 * ```
 */
export class PhaseGateError extends GirderError {
  /** Why the switch was refused. */
  readonly reason: PhaseGateReason;
  /** Phase at the time of the request. */
  readonly from: string;
  /** Requested phase. */
  readonly to: string;

  constructor(from: string, to: string, reason: PhaseGateReason, detail: string) {
    super('MIGRATOR_GATE_CLOSED', `switch ${from} -> ${to} refused (${reason}): ${detail}`);
    this.reason = reason;
    this.from = from;
    this.to = to;
  }
}

/**
 * `startValidation()` while a validation is running (`MIGRATOR_BUSY`).
 *
 * @example
 * ```ts
 * import { MigratorBusyError } from 'girder/migrator';
 *
 * try {
 *   await control.startValidation();
 * } catch (err) {
 *   if (err instanceof MigratorBusyError) console.log('already running');
 * }
 * ```
 */
export class MigratorBusyError extends GirderError {
  constructor(what: string) {
    super('MIGRATOR_BUSY', `${what} is already running`);
  }
}
