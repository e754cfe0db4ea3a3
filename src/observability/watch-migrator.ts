// Metrics and trace events of girder/migrator: the live phase of a phase store, a dual
// writer's writes and failed second writes, a fixer's outcomes, a validator's rows,
// chunks, differences, chunk durations and progress, and a migration control's gated
// switches (requested, switched, forced, refused by reason) and running validation.
import { context, SpanKind, SpanStatusCode, type Tracer, trace } from '@opentelemetry/api';
import type { EventMap, EventSource } from '../core/index.js';
import type {
  DualWriteEvents,
  FixerEvents,
  MigrationControlEvents,
  Phase,
  PhaseStoreEvents,
  ValidatorEvents,
} from '../migrator/index.js';
import { type Scope, subscribe } from './scope.js';

/** @internal The kinds of girder/migrator block mapped here. */
export type MigratorBlockKind =
  | 'phaseStore'
  | 'dualWrite'
  | 'fixer'
  | 'validator'
  | 'migrationControl';

// The migrator's event maps carry an index signature; subscribing needs the named events only.
type Named<E> = { [K in keyof E as string extends K ? never : K]: E[K] };
const named = <E extends EventMap>(events: EventSource<E>) =>
  events as unknown as EventSource<Named<E>>;

type Bag = Record<string, unknown>;
const isFn = (v: unknown): boolean => typeof v === 'function';

/** @internal A phase store, dual writer, fixer, validator or migration control, by shape. */
export function migratorKindOf(block: unknown): MigratorBlockKind | undefined {
  if (typeof block !== 'object' || block === null) return undefined;
  const b = block as Bag;
  const events = b.events as Bag | undefined;
  if (typeof events !== 'object' || events === null || !isFn(events.on)) return undefined;
  if (
    typeof b.phase === 'string' &&
    isFn(b.get) &&
    isFn(b.set) &&
    (b.kind === 'memory' || b.kind === 'sql' || b.kind === 'live')
  ) {
    return 'phaseStore';
  }
  const write = b.write as Bag | undefined;
  if (
    typeof write === 'object' &&
    write !== null &&
    isFn(write.insert) &&
    isFn(write.run) &&
    isFn(b.find) &&
    typeof b.readTable === 'string'
  ) {
    return 'dualWrite';
  }
  if (isFn(b.fix) && isFn(b.fixAll) && isFn(b.drainRepairLog)) return 'fixer';
  if (isFn(b.switchPhase) && isFn(b.startValidation) && isFn(b.diffCounts)) {
    return 'migrationControl';
  }
  if (isFn(b.start) && isFn(b.resume) && isFn(b.close) && typeof b.name === 'string') {
    return 'validator';
  }
  return undefined;
}

/** @internal What a watched phase store offers. */
export interface PhaseStoreBlock {
  readonly phase: Phase;
  readonly events: EventSource<PhaseStoreEvents>;
}

// The phases in order (a type-only import keeps girder/migrator out of this bundle).
const PHASES: readonly Phase[] = ['source-only', 'source-first', 'target-first', 'target-only'];

/** The side in charge in `phase` (the dual writer's rule). */
const primaryOf = (phase: Phase) =>
  phase === 'source-only' || phase === 'source-first' ? 'source' : 'target';

/** @internal Map a phase store's events to `<prefix>migrator_phase*`. */
export function watchPhaseStore(scope: Scope, block: PhaseStoreBlock): () => void {
  const phase = scope.gauge(
    'migrator_phase',
    'The migration phase this instance acts on: one series per phase, 1 for the current one.',
    ['phase'],
  );
  const show = (current: Phase) => {
    for (const p of PHASES) phase.set(scope.labels({ phase: p }), p === current ? 1 : 0);
  };
  show(block.phase);
  const switches = scope.counter(
    'migrator_phase_switches_total',
    'Phase switches seen, by origin (local: set through this store; remote: seen from another instance).',
    ['origin'],
  );
  const local = switches.series({ origin: 'local' });
  const remote = switches.series({ origin: 'remote' });
  const errors = scope
    .counter(
      'migrator_phase_store_errors_total',
      'Failed reads of the phase backend (the last good phase stays).',
    )
    .series();
  return subscribe(named(block.events), {
    changed: (e: PhaseStoreEvents['changed']) => {
      show(e.to);
      if (e.origin === 'local') local.value++;
      else remote.value++;
    },
    error: () => {
      errors.value++;
    },
  });
}

/** @internal Map a dual writer's events to `<prefix>migrator_dual_write*`. */
export function watchDualWrite(scope: Scope, events: EventSource<DualWriteEvents>): () => void {
  const writes = scope.counter(
    'migrator_dual_writes_total',
    'Writes that succeeded on the side in charge, by that side and operation (the second write may still have failed: see migrator_dual_write_secondary_failures_total).',
    ['side', 'op'],
  );
  const writeCells = new Map<string, { value: number }>();
  const duration = scope.histogram(
    'migrator_dual_write_duration_seconds',
    'Duration of successful writes (both sides), seconds.',
  );
  const durationCell = duration.cell(scope.base);
  const failures = scope.counter(
    'migrator_dual_write_secondary_failures_total',
    'Rows whose second write failed (the request succeeded; the row goes to the repair log), by side written and operation.',
    ['side', 'op'],
  );
  const failureCells = new Map<string, { value: number }>();
  const repairLog = scope
    .counter(
      'migrator_dual_write_repair_log_failures_total',
      'Rows whose repair-log append failed too: only the validator will find them.',
    )
    .series();
  const cellOf = (
    cells: Map<string, { value: number }>,
    counter: typeof writes,
    side: string,
    op: string,
  ) => {
    const key = `${side}\0${op}`;
    let cell = cells.get(key);
    if (cell === undefined) {
      cell = counter.series({ side, op });
      cells.set(key, cell);
    }
    return cell;
  };
  return subscribe(named(events), {
    written: (e: DualWriteEvents['written']) => {
      cellOf(writeCells, writes, primaryOf(e.phase), e.op).value++;
      duration.observe(durationCell, e.durationMs / 1000);
    },
    secondaryFailed: (e: DualWriteEvents['secondaryFailed']) => {
      cellOf(failureCells, failures, e.side, e.op).value++;
    },
    repairLogFailed: () => {
      repairLog.value++;
    },
  });
}

/** @internal Map a fixer's events to `<prefix>migrator_fix*`. */
export function watchFixer(scope: Scope, events: EventSource<FixerEvents>): () => void {
  const fixes = scope.counter(
    'migrator_fixes_total',
    'Keys handled by the fixer, by outcome (fixed: copied or deleted on the other side; skipped: nothing to write or a newer row there; failed).',
    ['outcome'],
  );
  const fixed = fixes.series({ outcome: 'fixed' });
  const skipped = fixes.series({ outcome: 'skipped' });
  const failed = fixes.series({ outcome: 'failed' });
  const duration = scope.histogram(
    'migrator_fix_duration_seconds',
    'Duration of fixes that wrote, seconds.',
  );
  const cell = duration.cell(scope.base);
  return subscribe(named(events), {
    fixed: (e: FixerEvents['fixed']) => {
      fixed.value++;
      duration.observe(cell, e.durationMs / 1000);
    },
    skipped: () => {
      skipped.value++;
    },
    failed: () => {
      failed.value++;
    },
  });
}

/** @internal Map a validator's events to `<prefix>migrator_validation_*`. */
export function watchValidator(scope: Scope, events: EventSource<ValidatorEvents>): () => void {
  const rows = scope
    .counter('migrator_validation_rows_checked_total', 'Source rows covered by checked chunks.')
    .series();
  const chunks = scope.counter(
    'migrator_validation_chunks_total',
    'Chunks checked, by result (matched: checksums and counts agreed; differing: compared row by row).',
    ['result'],
  );
  const matched = chunks.series({ result: 'matched' });
  const differing = chunks.series({ result: 'differing' });
  const diffs = scope.counter(
    'migrator_validation_diffs_total',
    'Differing rows found, by kind (missing: not on the target; extra: not on the source; changed).',
    ['kind'],
  );
  const diffCells = {
    missing: diffs.series({ kind: 'missing' }),
    extra: diffs.series({ kind: 'extra' }),
    changed: diffs.series({ kind: 'changed' }),
  };
  const duration = scope.histogram(
    'migrator_validation_chunk_duration_seconds',
    'Duration of checked chunks (checksums, and the row pass when they differed), seconds.',
  );
  const durationCell = duration.cell(scope.base);
  const progress = scope.gauge(
    'migrator_validation_progress_ratio',
    'Fraction of the estimated source rows the latest run has covered (0 to 1; set once the estimate is known, 1 when a run is done).',
  );
  const runs = scope.counter(
    'migrator_validation_runs_total',
    'Validation runs ended, by status (done, stopped, failed).',
    ['status'],
  );
  const done = runs.series({ status: 'done' });
  const stopped = runs.series({ status: 'stopped' });
  const failed = runs.series({ status: 'failed' });
  return subscribe(events, {
    chunk: (e: ValidatorEvents['chunk']) => {
      rows.value += e.sourceRows;
      if (e.matched) matched.value++;
      else differing.value++;
      duration.observe(durationCell, e.durationMs / 1000);
    },
    diff: (e: ValidatorEvents['diff']) => {
      const kind = e.inconsistency.kind;
      if (kind !== 'write-failed') diffCells[kind].value++;
    },
    progress: (e: ValidatorEvents['progress']) => {
      if (e.estimatedRows === undefined || e.estimatedRows <= 0) return;
      progress.set(scope.base, Math.min(1, e.rowsDone / e.estimatedRows));
    },
    done: (e: ValidatorEvents['done']) => {
      if (e.result.status === 'done') {
        done.value++;
        progress.set(scope.base, 1);
      } else stopped.value++;
    },
    error: () => {
      failed.value++;
    },
  });
}

/** @internal Map a migration control's events to `<prefix>migrator_switch*` and the running-validation gauge. */
export function watchControl(
  scope: Scope,
  events: EventSource<MigrationControlEvents>,
): () => void {
  const requests = scope
    .counter('migrator_switch_requests_total', 'Phase switches asked of the control.')
    .series();
  const switches = scope.counter(
    'migrator_switches_total',
    'Phase switches decided by the control, by from, to and outcome (switched: the gate allowed it; forced: stored past a closed gate; refused).',
    ['from', 'to', 'outcome'],
  );
  const switchCells = new Map<string, { value: number }>();
  const switchCell = (from: string, to: string, outcome: string) => {
    const key = `${from}\0${to}\0${outcome}`;
    let cell = switchCells.get(key);
    if (cell === undefined) {
      cell = switches.series({ from, to, outcome });
      switchCells.set(key, cell);
    }
    return cell;
  };
  const refusals = scope.counter(
    'migrator_switch_refusals_total',
    'Phase switches the gate refused, by reason (not-validated, differences, stale, not-adjacent...).',
    ['reason'],
  );
  const refusalCells = new Map<string, { value: number }>();
  const running = scope.gauge(
    'migrator_validation_running',
    '1 while a validation started through the control runs, else 0.',
  );
  running.set(scope.base, 0);
  const stopped = () => running.set(scope.base, 0);
  return subscribe(named(events), {
    switchRequested: () => {
      requests.value++;
    },
    switched: (e: MigrationControlEvents['switched']) => {
      switchCell(e.from, e.to, e.forced ? 'forced' : 'switched').value++;
    },
    refused: (e: MigrationControlEvents['refused']) => {
      switchCell(e.error.from, e.error.to, 'refused').value++;
      let cell = refusalCells.get(e.error.reason);
      if (cell === undefined) {
        cell = refusals.series({ reason: e.error.reason });
        refusalCells.set(e.error.reason, cell);
      }
      cell.value++;
    },
    validationStarted: () => running.set(scope.base, 1),
    validationFinished: stopped,
    validationFailed: stopped,
  });
}

/**
 * A `girder.migrator.switch` span per decided switch (back-dated to the request), and
 * events on the caller's active span for validations started and finished.
 */
function traceControl(
  tracer: Tracer,
  events: EventSource<MigrationControlEvents>,
  attrs: Record<string, string>,
  event: (name: string, attributes: Record<string, string | number | boolean>) => void,
): () => void {
  const span = (
    durationMs: number | undefined,
    attributes: Record<string, string | number | boolean>,
    refusal?: string,
  ) => {
    const endTime = performance.timeOrigin + performance.now();
    const s = tracer.startSpan(
      'girder.migrator.switch',
      {
        kind: SpanKind.INTERNAL,
        startTime: endTime - (durationMs ?? 0),
        attributes: { ...attrs, ...attributes },
      },
      context.active(),
    );
    s.setStatus(
      refusal === undefined
        ? { code: SpanStatusCode.OK }
        : { code: SpanStatusCode.ERROR, message: refusal },
    );
    s.end(endTime);
  };
  return subscribe(named(events), {
    switched: (e: MigrationControlEvents['switched']) =>
      span(e.durationMs, {
        'girder.migrator.from': e.from,
        'girder.migrator.to': e.to,
        'girder.migrator.outcome': e.forced ? 'forced' : 'switched',
        ...(e.gate !== undefined && { 'girder.migrator.gate': e.gate }),
        ...(e.by !== undefined && { 'girder.migrator.by': e.by }),
      }),
    refused: (e: MigrationControlEvents['refused']) =>
      span(
        e.durationMs,
        {
          'girder.migrator.from': e.error.from,
          'girder.migrator.to': e.error.to,
          'girder.migrator.outcome': 'refused',
          'girder.migrator.reason': e.error.reason,
        },
        e.error.message,
      ),
    validationStarted: (e: MigrationControlEvents['validationStarted']) =>
      event('girder.migrator.validation_started', {
        ...attrs,
        'girder.migrator.run_id': e.runId,
      }),
    validationFinished: (e: MigrationControlEvents['validationFinished']) =>
      event('girder.migrator.validation_finished', {
        ...attrs,
        'girder.migrator.run_id': e.result.runId,
        'girder.migrator.status': e.result.status,
        'girder.migrator.differences': e.result.differences,
      }),
  });
}

/** @internal Start the metrics mapping of a girder/migrator block. */
export function watchMigratorBlock(
  scope: Scope,
  kind: MigratorBlockKind,
  block: unknown,
): () => void {
  const events = (block as { events: EventSource<never> }).events;
  switch (kind) {
    case 'phaseStore':
      return watchPhaseStore(scope, block as PhaseStoreBlock);
    case 'dualWrite':
      return watchDualWrite(scope, events as EventSource<DualWriteEvents>);
    case 'fixer':
      return watchFixer(scope, events as EventSource<FixerEvents>);
    case 'migrationControl':
      return watchControl(scope, events as EventSource<MigrationControlEvents>);
    default:
      return watchValidator(scope, events as EventSource<ValidatorEvents>);
  }
}

/**
 * @internal Trace a girder/migrator block, cheaply: a `girder.migrator.chunk` span per
 * differing validator chunk only (back-dated to its start; matched chunks, the vast
 * majority, make none), and events on the caller's active span for phase switches,
 * failed second writes, repair-log failures and failed fixes.
 */
export function traceMigrator(
  tracer: Tracer,
  kind: MigratorBlockKind,
  events: EventSource<never>,
  name: string,
): () => void {
  const attrs = { 'girder.name': name };
  const event = (eventName: string, attributes: Record<string, string | number | boolean>) =>
    trace.getActiveSpan()?.addEvent(eventName, attributes);
  switch (kind) {
    case 'phaseStore':
      return subscribe(named(events as EventSource<PhaseStoreEvents>), {
        changed: (e: PhaseStoreEvents['changed']) =>
          event('girder.migrator.phase_changed', {
            ...attrs,
            'girder.migrator.from': e.from,
            'girder.migrator.to': e.to,
            'girder.migrator.origin': e.origin,
          }),
      });
    case 'dualWrite':
      return subscribe(named(events as EventSource<DualWriteEvents>), {
        secondaryFailed: (e: DualWriteEvents['secondaryFailed']) =>
          event('girder.migrator.secondary_failed', {
            ...attrs,
            'girder.migrator.side': e.side,
            'girder.migrator.op': e.op,
            'girder.migrator.phase': e.phase,
          }),
        repairLogFailed: () => event('girder.migrator.repair_log_failed', attrs),
      });
    case 'fixer':
      return subscribe(named(events as EventSource<FixerEvents>), {
        failed: () => event('girder.migrator.fix_failed', attrs),
      });
    case 'migrationControl':
      return traceControl(tracer, events as EventSource<MigrationControlEvents>, attrs, event);
    default:
      return subscribe(events as EventSource<ValidatorEvents>, {
        chunk: (e: ValidatorEvents['chunk']) => {
          if (e.matched) return;
          const endTime = performance.timeOrigin + performance.now();
          const span = tracer.startSpan(
            'girder.migrator.chunk',
            {
              kind: SpanKind.INTERNAL,
              startTime: endTime - e.durationMs,
              attributes: {
                ...attrs,
                'girder.migrator.run_id': e.runId,
                'girder.migrator.chunk_index': e.index,
                'girder.migrator.source_rows': e.sourceRows,
                'girder.migrator.target_rows': e.targetRows,
                'girder.migrator.differences': e.differences,
              },
            },
            context.active(),
          );
          span.setStatus({ code: SpanStatusCode.OK });
          span.end(endTime);
        },
      });
  }
}
