// The dual writer: the application's repository for one table during a move. Reads go to
// the side in charge; a write goes to the side in charge, then its resulting row is
// mirrored to the other side. The second write never fails the request: a failure is
// emitted and appended to the repair log for the fixer.
import { sql } from 'kysely';
import { z } from 'zod';
import {
  type EventSource,
  InvalidArgumentError,
  parseOptions,
  TypedEmitter,
} from '../core/index.js';
import { deleteRow, readRow, updateRow, upsertIfNotNewer } from './mirror.js';
import type { PhaseStore } from './phase-store.js';
import { appendRepair, DEFAULT_REPAIR_LOG_TABLE } from './repair-log.js';
import { keyColumnsOf, keyTuple, keyValue, rowKeyTuple, touchesKey } from './row-key.js';
import {
  type AnyDb,
  checkRow,
  errorText,
  fnSchema,
  identifierSchema,
  kyselySchema,
  type MigrationSideOptions,
  migrationSideShape,
  nameSchema,
  primaryOf,
  type Row,
  type Side,
  secondaryOf,
  transformPair,
} from './shared.js';
import type { Phase } from './types.js';

/** The write operations of a {@link DualWriter}. */
export type DualWriteOp = 'insert' | 'update' | 'delete' | 'run';

/**
 * A secondary write that failed, as given to `onSecondaryError` and the `secondaryFailed` event.
 *
 * @example
 * ```ts
 * const onSecondaryError = (f: SecondaryFailure) => console.warn(f.side, f.key, f.error);
 * ```
 */
export interface SecondaryFailure {
  /** The dual writer's name. */
  name: string;
  /** Source table name. */
  table: string;
  /** Which write. */
  op: DualWriteOp;
  /** Phase the write ran in. */
  phase: Phase;
  /** The side whose write failed. */
  side: Side;
  /** Key of the row, if known (`run` without `keys` knows none): a scalar, or an object of the key columns for a composite key. */
  key: unknown;
  /** What the database threw. */
  error: unknown;
  /** How long the failed write took, ms. */
  durationMs: number;
}

/**
 * Events of a {@link DualWriter}.
 *
 * @example
 * ```ts
 * orders.events.on('secondaryFailed', ({ side, key }) => console.warn('repair queued', side, key));
 * ```
 */
export interface DualWriteEvents {
  /** A write finished on the side in charge (and was attempted on the other). */
  written: {
    /** The dual writer's name. */
    name: string;
    /** Which write. */
    op: DualWriteOp;
    /** Phase the write ran in. */
    phase: Phase;
    /** Whole write (both sides), ms. */
    durationMs: number;
  };
  /** The second write failed; the request succeeded anyway. */
  secondaryFailed: SecondaryFailure;
  /** Appending to the repair log failed too: only the validator will find this row now. */
  repairLogFailed: {
    /** The dual writer's name. */
    name: string;
    /** Key of the row, if known. */
    key: unknown;
    /** What the repair log insert threw. */
    error: unknown;
  };
  /** [Symbol.index] */
  [event: string]: unknown;
}

/**
 * Where failed secondary writes are recorded (see `createRepairLogTable`). Keep it on a
 * database that stays up when the secondary fails: usually the source.
 *
 * @example
 * ```ts
 * const repairLog: RepairLogOptions = { db: source, table: 'girder_migration_repair_log' };
 * ```
 */
export interface RepairLogOptions {
  /** Database holding the repair log table. */
  db: AnyDb;
  /** Table made by `createRepairLogTable`. Default `girder_migration_repair_log`. */
  table?: string;
}

/**
 * What a custom write given to {@link DualWriteWriter.run} receives for each side.
 *
 * @example
 * ```ts
 * await orders.write.run((db, side) =>
 *   db.updateTable(side.table).set(side.shape({ status: 'cancelled' })).where('user_id', '=', 7).execute(),
 * );
 * ```
 */
export interface DualWriteSide {
  /** Which database this call writes. */
  side: Side;
  /** The table on this side. */
  table: string;
  /** True for the side in charge (its result is what `run` returns). */
  primary: boolean;
  /** Maps a row (or patch) in the source schema to this side's schema (`transform` on the target). */
  shape(row: Row): Row;
}

/**
 * The write half of a {@link DualWriter}: a repository over the migrated table. Rows and
 * patches are given in the source schema; `transform` shapes them for the target.
 *
 * @example
 * ```ts
 * const order = await orders.write.insert({ user_id: 7, total: 1999 });
 * await orders.write.update(order.id, { status: 'paid' });
 * await orders.write.delete(order.id);
 * ```
 */
export interface DualWriteWriter {
  /** Inserts on the side in charge, then copies the stored row (with its generated key and defaults) to the other. Resolves the stored row. */
  insert(row: Row): Promise<Row>;
  /** Updates the row keyed `key` on the side in charge (bumping the version column), then copies the result. Resolves the new row, or undefined when there is none. */
  update(key: unknown, patch: Row): Promise<Row | undefined>;
  /** Deletes on the side in charge, then on the other. Resolves whether the side in charge had the row. */
  delete(key: unknown): Promise<boolean>;
  /**
   * Runs a custom write on the side in charge, then on the other, and resolves the first
   * result. `keys` names the rows it touches, for the repair log (without them, a failure
   * is logged with no key: run a validation).
   */
  run<T>(
    fn: (db: AnyDb, side: DualWriteSide) => Promise<T>,
    options?: { keys?: readonly unknown[] },
  ): Promise<T>;
}

/**
 * A table under migration: `read` is the database in charge, `write` writes both sides
 * per the live phase. See {@link dualWrite}.
 *
 * @example
 * ```ts
 * const rows = await orders.read.selectFrom(orders.readTable).selectAll().execute();
 * ```
 */
export interface DualWriter {
  /** Labels events, logs and metrics. */
  readonly name: string;
  /** Source table name. */
  readonly table: string;
  /** The phase now (from the phase store). */
  readonly phase: Phase;
  /** The database in charge now: source for `source-only`/`source-first`, target after. */
  readonly read: AnyDb;
  /** The table name on the side in charge. */
  readonly readTable: string;
  /** Reads one row by key from the side in charge (a scalar, or an object of exactly the key columns for a composite key). */
  find(key: unknown): Promise<Row | undefined>;
  /** Writes routed per phase. */
  readonly write: DualWriteWriter;
  /** Typed events. */
  readonly events: EventSource<DualWriteEvents>;
}

/**
 * Options of {@link dualWrite}: the shared {@link MigrationSideOptions} (source, target,
 * table, key, version, transform...) plus the live phase and where failures go.
 *
 * @example
 * ```ts
 * const options: DualWriteOptions = {
 *   source, target, table: 'orders', key: 'id', version: 'version', phase,
 *   repairLog: { db: source },
 * };
 * ```
 */
export interface DualWriteOptions extends MigrationSideOptions {
  /** The live phase. */
  phase: PhaseStore;
  /**
   * With `version`: `update()` increments the (integer) version column unless the patch
   * sets it, and `insert()` sets it to 1 when absent. Turn off when the application or a
   * trigger maintains it (e.g. an `updated_at` timestamp). Default true.
   */
  bumpVersion?: boolean;
  /** Called for every failed secondary write (after it is recorded); must not throw. */
  onSecondaryError?: (failure: SecondaryFailure) => void;
  /** Where failed secondary writes are recorded for the fixer. Default: events only. */
  repairLog?: RepairLogOptions;
  /** Labels events, logs and metrics. Default `dual-write`. */
  name?: string;
}

const identity = (row: Row) => row;

const schema = z
  .strictObject({
    ...migrationSideShape,
    phase: z.custom<PhaseStore>(
      (v) =>
        typeof v === 'object' &&
        v !== null &&
        typeof (v as PhaseStore).get === 'function' &&
        typeof (v as PhaseStore).phase === 'string',
      { message: 'must be a PhaseStore' },
    ),
    bumpVersion: z.boolean().default(true),
    onSecondaryError: fnSchema<(failure: SecondaryFailure) => void>().optional(),
    repairLog: z
      .strictObject({ db: kyselySchema, table: identifierSchema.default(DEFAULT_REPAIR_LOG_TABLE) })
      .optional(),
    name: nameSchema.default('dual-write'),
  })
  .refine(transformPair.check, transformPair.error);

/**
 * Wraps a table being moved from `source` to `target`. Routing per phase:
 *
 * | phase | `read` | writes |
 * | --- | --- | --- |
 * | `source-only` | source | source |
 * | `source-first` | source | source, then copy to target |
 * | `target-first` | target | target, then copy to source |
 * | `target-only` | target | target |
 *
 * The phase is read once per write from the live store, so both halves of one write
 * agree. A failed second write is emitted (`secondaryFailed`), passed to
 * `onSecondaryError` and appended to the repair log; the call still succeeds.
 *
 * `key` may list the columns of a composite key (`['tenant_id', 'id']`); key values are
 * then objects of exactly those columns (`find({ tenant_id: 3, id: 42 })`).
 *
 * @example
 * ```ts
 * import { createRepairLogTable, dualWrite, memoryPhaseStore } from 'girder/migrator';
 *
 * await createRepairLogTable(source);
 * const phase = memoryPhaseStore({ initial: 'source-first' });
 * const orders = dualWrite({
 *   source, target, table: 'orders', key: 'id', version: 'version', phase,
 *   repairLog: { db: source },
 * });
 * const order = await orders.write.insert({ user_id: 7, total: 1999 });
 * const again = await orders.find(order.id);
 * ```
 */
export function dualWrite(options: DualWriteOptions): DualWriter {
  const o = parseOptions('dualWrite', schema, options);
  const targetTable = o.targetTable ?? o.table;
  const toTarget = o.transform ?? identity;
  const toSource = o.transformBack ?? identity;
  const events = new TypedEmitter<DualWriteEvents>();
  const dbOf = (side: Side) => (side === 'source' ? o.source : o.target);
  const tableOf = (side: Side) => (side === 'source' ? o.table : targetTable);
  /** A source-schema row or patch, shaped for `side`. */
  const shapeFor = (side: Side) => (side === 'source' ? identity : toTarget);
  /** A row read from `from`, shaped for the other side. */
  const copyFor = (from: Side) => (from === 'source' ? toTarget : toSource);
  const version = o.version;
  const bump = version !== undefined && o.bumpVersion;
  const keys = keyColumnsOf(o.key);

  const secondaryFailed = async (
    op: DualWriteOp,
    phase: Phase,
    side: Side,
    keys: readonly unknown[],
    error: unknown,
    durationMs: number,
  ) => {
    for (const key of keys) {
      const failure: SecondaryFailure = {
        name: o.name,
        table: o.table,
        op,
        phase,
        side,
        key,
        error,
        durationMs,
      };
      o.logger?.warn('migration secondary write failed', {
        migration: o.name,
        table: o.table,
        op,
        phase,
        side,
        key: typeof key === 'bigint' ? key.toString() : key,
        err: error,
      });
      events.emit('secondaryFailed', failure);
      try {
        o.onSecondaryError?.(failure);
      } catch {
        // A broken callback must not turn a recorded failure into a failed request.
      }
      if (o.repairLog === undefined) continue;
      try {
        await appendRepair(o.repairLog.db, o.repairLog.table, {
          table: o.table,
          key,
          op,
          phase,
          side,
          error: errorText(error),
          createdAt: o.clock.now(),
        });
      } catch (logError) {
        o.logger?.error('migration repair log write failed', { migration: o.name, err: logError });
        events.emit('repairLogFailed', { name: o.name, key, error: logError });
      }
    }
  };

  /** Runs the second half of a write, recording instead of throwing. */
  const secondary = async (
    op: DualWriteOp,
    phase: Phase,
    keys: readonly unknown[],
    write: (side: Side) => Promise<unknown>,
  ) => {
    const side = secondaryOf(phase);
    if (side === undefined) return;
    const started = o.clock.now();
    try {
      await write(side);
    } catch (error) {
      await secondaryFailed(op, phase, side, keys, error, o.clock.now() - started);
    }
  };

  const finish = (op: DualWriteOp, phase: Phase, started: number) =>
    events.emit('written', { name: o.name, op, phase, durationMs: o.clock.now() - started });

  const copyRow = (from: Side, row: Row) => (side: Side) =>
    upsertIfNotNewer(dbOf(side), tableOf(side), keys, version, copyFor(from)(row));

  const write: DualWriteWriter = {
    async insert(row) {
      const input = { ...checkRow(row, 'row') };
      if (bump && input[version] === undefined) input[version] = 1;
      const phase = o.phase.phase;
      const started = o.clock.now();
      const primary = primaryOf(phase);
      const stored = (await dbOf(primary)
        .insertInto(tableOf(primary))
        .values(shapeFor(primary)(input))
        .returningAll()
        .executeTakeFirstOrThrow()) as Row;
      const key = keyValue(keys, rowKeyTuple(keys, stored));
      await secondary('insert', phase, [key], copyRow(primary, stored));
      finish('insert', phase, started);
      return stored;
    },
    async update(key, patch) {
      const tuple = keyTuple(keys, key);
      const input: Record<string, unknown> = { ...checkRow(patch, 'patch') };
      if (touchesKey(keys, input))
        throw new InvalidArgumentError('patch', 'may not change the key');
      const phase = o.phase.phase;
      const started = o.clock.now();
      const primary = primaryOf(phase);
      const set = shapeFor(primary)(input) as Record<string, unknown>;
      if (bump && !(version in set)) set[version] = sql`${sql.ref(version)} + 1`;
      const stored = await updateRow(dbOf(primary), tableOf(primary), keys, tuple, set);
      if (stored !== undefined) await secondary('update', phase, [key], copyRow(primary, stored));
      finish('update', phase, started);
      return stored;
    },
    async delete(key) {
      const tuple = keyTuple(keys, key);
      const phase = o.phase.phase;
      const started = o.clock.now();
      const primary = primaryOf(phase);
      const deleted = await deleteRow(dbOf(primary), tableOf(primary), keys, tuple);
      await secondary('delete', phase, [key], (side) =>
        deleteRow(dbOf(side), tableOf(side), keys, tuple),
      );
      finish('delete', phase, started);
      return deleted;
    },
    async run(fn, runOptions = {}) {
      if (typeof fn !== 'function') throw new InvalidArgumentError('fn', 'must be a function');
      const named = runOptions.keys ?? [undefined];
      if (!Array.isArray(named)) throw new InvalidArgumentError('keys', 'must be an array');
      for (const key of named) if (key !== undefined) keyTuple(keys, key, 'keys[]');
      const phase = o.phase.phase;
      const started = o.clock.now();
      const primary = primaryOf(phase);
      const side = (s: Side, isPrimary: boolean): DualWriteSide => ({
        side: s,
        table: tableOf(s),
        primary: isPrimary,
        shape: shapeFor(s),
      });
      const result = await fn(dbOf(primary), side(primary, true));
      await secondary('run', phase, named.length > 0 ? named : [undefined], (s) =>
        fn(dbOf(s), side(s, false)),
      );
      finish('run', phase, started);
      return result;
    },
  };

  return {
    name: o.name,
    table: o.table,
    get phase() {
      return o.phase.phase;
    },
    get read() {
      return dbOf(primaryOf(o.phase.phase));
    },
    get readTable() {
      return tableOf(primaryOf(o.phase.phase));
    },
    async find(key) {
      const tuple = keyTuple(keys, key);
      const side = primaryOf(o.phase.phase);
      return readRow(dbOf(side), tableOf(side), keys, tuple);
    },
    write,
    events,
  };
}
