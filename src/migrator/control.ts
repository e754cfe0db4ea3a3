// The admin side of a migration: status, gated phase switches, validation runs and fixes.
// The gate lives here, not in the phase store, so a forced switch is always possible
// and always logged as forced.
import { z } from 'zod';
import {
  type Clock,
  clockSchema,
  type EventSource,
  InvalidArgumentError,
  parseOptions,
  systemClock,
  TypedEmitter,
} from '../core/index.js';
import type { Logger } from '../logger/index.js';
import { MigratorBusyError, PhaseGateError, type PhaseGateReason } from './errors.js';
import type { Fixer, FixSummary } from './fixer.js';
import type { PhaseStore } from './phase-store.js';
import { checkPhase, loggerSchema, nameSchema } from './shared.js';
import { PHASES, type Phase } from './types.js';
import type {
  ValidationProgress,
  ValidationResult,
  ValidationRun,
  Validator,
} from './validator-types.js';

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

const schema = z.strictObject({
  phaseStore: z.custom<PhaseStore>(
    (v) =>
      typeof v === 'object' &&
      v !== null &&
      typeof (v as PhaseStore).set === 'function' &&
      typeof (v as PhaseStore).events?.on === 'function',
    { message: 'must be a PhaseStore' },
  ),
  validator: z.custom<Validator>(
    (v) => typeof v === 'object' && v !== null && typeof (v as Validator).start === 'function',
    { message: 'must be a Validator' },
  ),
  fixer: z
    .custom<Fixer>(
      (v) => typeof v === 'object' && v !== null && typeof (v as Fixer).fixAll === 'function',
      { message: 'must be a Fixer' },
    )
    .optional(),
  name: nameSchema.optional(),
  logger: loggerSchema.optional(),
  clock: clockSchema.default(systemClock),
});

const indexOf = (phase: Phase) => PHASES.indexOf(phase);

/**
 * The programmatic admin API of a migration (the HTTP routes and the CLI are built on it).
 *
 * Gating (all overridable with `{ force: true }`, which is logged as forced):
 * - one step at a time (`not-adjacent`);
 * - `source-first → target-first` and `target-first → target-only` need a full validation
 *   that started after the last phase change, finished (`done`, not stopped), found zero
 *   differences, and is not running again (`not-validated`, `differences`, `validation-running`);
 * - rolling back one step is free, except from `target-only`: the source has missed
 *   every write since, so going back needs `force` (`stale-source`).
 *
 * @example
 * ```ts
 * import { fixer, migrationControl, sqlPhaseStore, validator } from 'girder/migrator';
 *
 * const control = migrationControl({
 *   phaseStore: await sqlPhaseStore(source, { name: 'orders' }),
 *   validator: validator({ source, target, table: 'orders', key: 'id', columns }),
 *   fixer: fixer({ source, target, table: 'orders', key: 'id', version: 'version', primary: phase }),
 *   logger,
 * });
 * await control.switchPhase('source-first');
 * await control.startValidation();
 * await control.waitForValidation();
 * await control.switchPhase('target-first'); // PhaseGateError unless it found 0 differences
 * ```
 */
export function migrationControl(options: MigrationControlOptions): MigrationControl {
  const o = parseOptions('migrationControl', schema, options);
  const name = o.name ?? o.phaseStore.name;
  const events = new TypedEmitter<MigrationControlEvents>();
  let phaseChangedAt = o.clock.now();
  let run: ValidationRun | undefined;
  let running: Promise<ValidationResult> | undefined;
  let last: ValidationResult | undefined;
  let lastFix: FixSummary | undefined;

  const off = o.phaseStore.events.on('changed', () => {
    phaseChangedAt = o.clock.now();
    last = undefined;
  });

  /** Why `from → to` is refused without force, or undefined when it may pass. */
  const refusal = (from: Phase, to: Phase): [PhaseGateReason, string] | undefined => {
    const step = indexOf(to) - indexOf(from);
    if (Math.abs(step) > 1) return ['not-adjacent', 'move one phase at a time'];
    if (step === -1) {
      return from === 'target-only'
        ? ['stale-source', 'the source has missed every write since target-only']
        : undefined;
    }
    if (from === 'source-only') return undefined;
    if (run !== undefined) return ['validation-running', 'wait for the running validation'];
    if (
      last === undefined ||
      last.mode !== 'full' ||
      last.status !== 'done' ||
      last.startedAt < phaseChangedAt
    ) {
      return ['not-validated', 'no completed full validation since the last phase change'];
    }
    if (last.differences > 0) {
      return [
        'differences',
        `the last validation found ${last.differences} differences: fix and validate again`,
      ];
    }
    return undefined;
  };

  const summaryOf = (result: ValidationResult): Omit<ValidationResult, 'diffs'> => {
    const { diffs: _diffs, ...rest } = result;
    return rest;
  };

  const status = async (): Promise<MigrationStatus> => {
    const phase = await o.phaseStore.get();
    const next = PHASES[indexOf(phase) + 1];
    const closed = next === undefined ? undefined : refusal(phase, next);
    return {
      name,
      phase,
      phaseChangedAt,
      ...(run !== undefined ? { running: { runId: run.id, progress: run.progress } } : {}),
      ...(last !== undefined ? { lastValidation: summaryOf(last) } : {}),
      ...(lastFix !== undefined ? { lastFix } : {}),
      gate:
        closed === undefined
          ? { next, open: next !== undefined }
          : { next, open: false, reason: closed[0] },
    };
  };

  const control: MigrationControl = {
    name,
    status,
    async switchPhase(to, switchOptions = {}) {
      checkPhase(to);
      if (typeof switchOptions !== 'object' || switchOptions === null) {
        throw new InvalidArgumentError('options', 'must be an object');
      }
      const force = switchOptions.force === true;
      const requestedAt = o.clock.now();
      events.emit('switchRequested', { name, to, force, by: switchOptions.by });
      const from = await o.phaseStore.get();
      if (from === to) return status();
      const refused = refusal(from, to);
      if (refused !== undefined && !force) {
        const error = new PhaseGateError(from, to, refused[0], refused[1]);
        o.logger?.warn('migration phase switch refused', {
          migration: name,
          from,
          to,
          reason: refused[0],
          by: switchOptions.by,
        });
        events.emit('refused', { name, error, durationMs: o.clock.now() - requestedAt });
        throw error;
      }
      await o.phaseStore.set(to);
      const fields = {
        migration: name,
        from,
        to,
        forced: refused !== undefined,
        by: switchOptions.by,
      };
      if (refused !== undefined)
        o.logger?.warn('migration phase switch forced past the gate', {
          ...fields,
          gate: refused[0],
        });
      else o.logger?.info('migration phase switch', fields);
      events.emit('switched', {
        name,
        from,
        to,
        forced: refused !== undefined,
        by: switchOptions.by,
        ...(refused !== undefined && { gate: refused[0] }),
        durationMs: o.clock.now() - requestedAt,
      });
      return status();
    },
    async startValidation() {
      if (run !== undefined) throw new MigratorBusyError('a validation');
      const started = o.validator.start();
      run = started;
      events.emit('validationStarted', { name, runId: started.id });
      o.logger?.info('migration validation started', { migration: name, runId: started.id });
      running = started.result.then(
        (result) => {
          // A phase change during the run leaves it stale: the gate compares startedAt.
          last = result;
          events.emit('validationFinished', { name, result });
          o.logger?.info('migration validation finished', {
            migration: name,
            runId: result.runId,
            status: result.status,
            differences: result.differences,
          });
          return result;
        },
        (error: unknown) => {
          events.emit('validationFailed', { name, error });
          o.logger?.error('migration validation failed', { migration: name, err: error });
          throw error;
        },
      );
      running.then(
        () => {
          if (run === started) run = undefined;
        },
        () => {
          if (run === started) run = undefined;
        },
      );
      return started.id;
    },
    async stopValidation() {
      if (run === undefined) return undefined;
      const result = await run.stop();
      await running?.catch(() => {});
      return result;
    },
    async waitForValidation() {
      if (running !== undefined) return running;
      if (last !== undefined) return last;
      throw new InvalidArgumentError(
        'validation',
        'none has run yet: call startValidation() first',
      );
    },
    diffCounts() {
      if (last === undefined) return undefined;
      return {
        missing: last.missing,
        extra: last.extra,
        changed: last.changed,
        differences: last.differences,
      };
    },
    async fix() {
      const f = o.fixer;
      if (f === undefined)
        throw new InvalidArgumentError('fixer', 'migrationControl was made without a fixer');
      const drained = await f.drainRepairLog().catch((error: unknown) => {
        // No repair log configured is fine: the validator's diffs still get fixed.
        if (error instanceof InvalidArgumentError) return undefined;
        throw error;
      });
      const found = await f.fixAll(last?.diffs ?? []);
      const summary: FixSummary = {
        copied: found.copied + (drained?.copied ?? 0),
        deleted: found.deleted + (drained?.deleted ?? 0),
        skipped: found.skipped + (drained?.skipped ?? 0),
        failed: found.failed + (drained?.failed ?? 0),
        unkeyed: drained?.unkeyed ?? 0,
      };
      lastFix = summary;
      o.logger?.info('migration fix finished', { migration: name, ...summary });
      events.emit('fixed', { name, summary });
      return summary;
    },
    events,
    async close() {
      if (typeof off === 'function') off();
      await control.stopValidation();
    },
    [Symbol.asyncDispose]: () => control.close(),
  };
  return control;
}
