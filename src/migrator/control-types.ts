// The types of a migration's admin side (`migrationControl`): its status, gate, events,
// switch options and the control itself.
import type { Clock, EventSource } from '../core/index.js';
import type { Logger } from '../logger/index.js';
import type { PhaseGateError, PhaseGateReason } from './errors.js';
import type { Fixer, FixSummary } from './fixer.js';
import type { PhaseStore } from './phase-store.js';
import type { Phase } from './types.js';
import type { ValidationProgress, ValidationResult, Validator } from './validator-types.js';

/**
 * Where the gate stands for the next forward phase.
 *
 * @example
 * ```ts
 * const gate: GateStatus = { next: 'target-first', open: false, reason: 'not-validated' };
 * ```
 */
export interface GateStatus {
  /** The next phase forward, or undefined at `target-only`. */
  next: Phase | undefined;
  /** Whether `switchPhase(next)` would pass without `force`. */
  open: boolean;
  /** Why it is closed. */
  reason?: PhaseGateReason;
}

/**
 * A snapshot of a migration, as `status()` and the HTTP route return it.
 *
 * @example
 * ```ts
 * const { phase, gate, validation } = await control.status();
 * ```
 */
export interface MigrationStatus {
  /** The control's name. */
  name: string;
  /** Current phase (read from the phase store). */
  phase: Phase;
  /** When this control last saw the phase change (epoch ms; its start if never). */
  phaseChangedAt: number;
  /** The validation running now, if any. */
  running?: {
    /** Its run id. */
    runId: string;
    /** Its latest progress. */
    progress: ValidationProgress;
  };
  /** The last finished validation since the last phase change, without its diff list. */
  lastValidation?: Omit<ValidationResult, 'diffs'>;
  /** The last fix run's totals. */
  lastFix?: FixSummary;
  /** The gate toward the next phase. */
  gate: GateStatus;
}

/**
 * Counts of the last finished validation, as `diffCounts()` returns them.
 *
 * @example
 * ```ts
 * const counts = control.diffCounts(); // { missing: 0, extra: 2, changed: 1, differences: 3 }
 * ```
 */
export interface DiffCounts {
  /** On the source, not the target. */
  missing: number;
  /** On the target, not the source. */
  extra: number;
  /** On both, different. */
  changed: number;
  /** All of them. */
  differences: number;
}

/**
 * Events of a {@link MigrationControl}.
 *
 * @example
 * ```ts
 * control.events.on('switched', ({ from, to, forced }) => audit(from, to, forced));
 * ```
 */
export interface MigrationControlEvents {
  /** `switchPhase()` was called with valid arguments (a `switched` or `refused` follows, unless the phase store throws or the phase is already `to`). */
  switchRequested: {
    /** The control's name. */
    name: string;
    /** Requested phase. */
    to: Phase;
    /** Whether the caller asked to override the gate. */
    force: boolean;
    /** Who asked (free text from the caller). */
    by?: string;
  };
  /** A phase switch was stored. */
  switched: {
    /** The control's name. */
    name: string;
    /** Phase before. */
    from: Phase;
    /** Phase now. */
    to: Phase;
    /** True when the gate was overridden. */
    forced: boolean;
    /** Who asked (free text from the caller). */
    by?: string;
    /** With `forced`: the gate that would have refused the switch. */
    gate?: PhaseGateReason;
    /** From the request to the stored phase, ms. */
    durationMs?: number;
  };
  /** A switch was refused by the gate. */
  refused: {
    /** The control's name. */
    name: string;
    /** The error thrown (`error.reason` says why). */
    error: PhaseGateError;
    /** From the request to the refusal, ms. */
    durationMs?: number;
  };
  /** A validation run started. */
  validationStarted: {
    /** The control's name. */
    name: string;
    /** Its run id. */
    runId: string;
  };
  /** A validation run finished (done or stopped). */
  validationFinished: {
    /** The control's name. */
    name: string;
    /** Its result. */
    result: ValidationResult;
  };
  /** A validation run failed. */
  validationFailed: {
    /** The control's name. */
    name: string;
    /** What it threw. */
    error: unknown;
  };
  /** `fix()` finished. */
  fixed: {
    /** The control's name. */
    name: string;
    /** Its totals. */
    summary: FixSummary;
  };
  /** [Symbol.index] */
  [event: string]: unknown;
}

/**
 * Options of {@link MigrationControl.switchPhase}.
 *
 * @example
 * ```ts
 * await control.switchPhase('target-first', { by: 'alice', force: false });
 * ```
 */
export interface SwitchOptions {
  /** Override the gate (validation, one step at a time, stale source). Logged as forced. */
  force?: boolean;
  /** Who asked, for the log. */
  by?: string;
}

/**
 * The admin API of one migration. See {@link migrationControl}.
 *
 * @example
 * ```ts
 * await control.startValidation();
 * const result = await control.waitForValidation();
 * if (result.differences === 0) await control.switchPhase('target-first');
 * ```
 */
export interface MigrationControl {
  /** Labels events, logs and metrics. */
  readonly name: string;
  /** Phase, gate, running and last validation, last fix. */
  status(): Promise<MigrationStatus>;
  /** Stores a new phase if the gate allows it (or `force`); throws `PhaseGateError` otherwise. */
  switchPhase(to: Phase, options?: SwitchOptions): Promise<MigrationStatus>;
  /** Starts a validation in the background; `MigratorBusyError` if one is running. Resolves its run id. */
  startValidation(): Promise<string>;
  /** Stops the running validation (a stopped run never opens the gate). Resolves its partial result, if one ran. */
  stopValidation(): Promise<ValidationResult | undefined>;
  /** Waits for the running validation (or returns the last result); throws if none ever ran. */
  waitForValidation(): Promise<ValidationResult>;
  /** Counts of the last finished validation since the last phase change. */
  diffCounts(): DiffCounts | undefined;
  /** Drains the repair log, then fixes the last validation's diffs (needs the `fixer` option). */
  fix(): Promise<FixSummary>;
  /** Typed events. */
  readonly events: EventSource<MigrationControlEvents>;
  /** Stops a running validation and unsubscribes from the phase store. */
  close(): Promise<void>;
  /** Same as `close()`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Options of {@link migrationControl}.
 *
 * @example
 * ```ts
 * const options: MigrationControlOptions = { phaseStore: phase, validator: check, fixer: fix };
 * ```
 */
export interface MigrationControlOptions {
  /** Where the phase lives; switches are stored there. */
  phaseStore: PhaseStore;
  /** A full validator (no `since`): its runs open the gate. */
  validator: Validator;
  /** Used by `fix()`. */
  fixer?: Fixer;
  /** Labels events, logs and metrics. Default: the phase store's name. */
  name?: string;
  /** Where every switch (and refusal) is logged. Default: not logged. */
  logger?: Logger;
  /** Time source of `phaseChangedAt`; must match the validator's clock. Default `systemClock`. */
  clock?: Clock;
}
