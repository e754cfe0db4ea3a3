// The admin side of a migration: status, gated phase switches, validation runs and fixes.
// The gate lives here, not in the phase store, so a forced switch is always possible
// and always logged as forced.
import { z } from 'zod';
import {
  clockSchema,
  InvalidArgumentError,
  parseOptions,
  systemClock,
  TypedEmitter,
} from '../core/index.js';
import type {
  MigrationControl,
  MigrationControlEvents,
  MigrationControlOptions,
  MigrationStatus,
} from './control-types.js';
import { MigratorBusyError, PhaseGateError, type PhaseGateReason } from './errors.js';
import type { Fixer, FixSummary } from './fixer.js';
import type { PhaseStore } from './phase-store.js';
import { checkPhase, loggerSchema, nameSchema } from './shared.js';
import { PHASES, type Phase } from './types.js';
import type { ValidationResult, ValidationRun, Validator } from './validator-types.js';

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
