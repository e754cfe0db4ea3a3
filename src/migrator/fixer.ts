// The fixer: makes the other side match the side in charge, one key at a time, without
// ever going backwards. Every decision is re-checked in the statement that acts on it:
// copies are compare-and-set on the version column, deletes happen only while the other
// side still holds the version we saw, and both re-read the side in charge afterwards.
import { z } from 'zod';
import {
  checkSignal,
  type EventSource,
  InvalidArgumentError,
  parseOptions,
  TypedEmitter,
  throwIfAborted,
} from '../core/index.js';
import { deleteRow, readRow, upsertIfNotNewer } from './mirror.js';
import type { PhaseStore } from './phase-store.js';
import { DEFAULT_REPAIR_LOG_TABLE, encodeKey, readRepairs, removeRepairs } from './repair-log.js';
import {
  inconsistencyKeyTuple,
  type KeyTuple,
  keyColumnsOf,
  keyTuple,
  keyValue,
} from './row-key.js';
import {
  type AnyDb,
  columnSchema,
  identifierSchema,
  kyselySchema,
  type MigrationSideOptions,
  migrationSideShape,
  nameSchema,
  primaryOf,
  type Row,
  type Side,
  transformPair,
} from './shared.js';
import type { Inconsistency } from './types.js';

/**
 * What {@link Fixer.fix} did for one key:
 * - `copied`: the side in charge's row was written to the other side;
 * - `deleted`: the other side's row was removed (the side in charge has none);
 * - `skipped`: nothing written; see `reason`.
 *
 * @example
 * ```ts
 * const action: FixAction = 'copied';
 * ```
 */
export type FixAction = 'copied' | 'deleted' | 'skipped';

/**
 * Why a fix wrote nothing:
 * - `absent`: neither side has the row;
 * - `newer`: the other side holds a higher version (a later write got there first);
 * - `changed`: the row changed while being fixed; the writer that changed it also writes the other side.
 *
 * @example
 * ```ts
 * const reason: FixSkipReason = 'newer';
 * ```
 */
export type FixSkipReason = 'absent' | 'newer' | 'changed';

/**
 * The result of fixing one key.
 *
 * @example
 * ```ts
 * const outcome: FixOutcome = { key: 42, action: 'copied', to: 'target' };
 * ```
 */
export interface FixOutcome {
  /** The key value (an object of the key columns for a composite key). */
  key: unknown;
  /** What was done. */
  action: FixAction;
  /** The side written (or that would have been). */
  to: Side;
  /** Set when `action` is `skipped`. */
  reason?: FixSkipReason;
}

/**
 * Totals of {@link Fixer.fixAll} and {@link Fixer.drainRepairLog}.
 *
 * @example
 * ```ts
 * const { copied, deleted, skipped, failed } = await fixer.fixAll(diffs);
 * ```
 */
export interface FixSummary {
  /** Rows copied to the other side. */
  copied: number;
  /** Rows deleted on the other side. */
  deleted: number;
  /** Keys where nothing needed (or was allowed) to be written. */
  skipped: number;
  /** Keys whose fix threw (see the `failed` event); left for the next run. */
  failed: number;
  /**
   * Repair log entries that named no row (a custom write failed): only a full
   * validation can find what they changed. Removed from the log once counted.
   */
  unkeyed: number;
}

/**
 * Events of a {@link Fixer}.
 *
 * @example
 * ```ts
 * fixer.events.on('fixed', ({ key, action }) => console.log(action, key));
 * ```
 */
export interface FixerEvents {
  /** A row was copied or deleted on the other side. */
  fixed: {
    /** The fixer's name. */
    name: string;
    /** The key value. */
    key: unknown;
    /** `copied` or `deleted`. */
    action: 'copied' | 'deleted';
    /** The side written. */
    to: Side;
    /** Duration of this fix, ms. */
    durationMs: number;
  };
  /** A key needed no write, or a newer row was already there. */
  skipped: {
    /** The fixer's name. */
    name: string;
    /** The key value. */
    key: unknown;
    /** Why. */
    reason: FixSkipReason;
  };
  /** Fixing one key threw (during `fixAll` / `drainRepairLog`, which carry on). */
  failed: {
    /** The fixer's name. */
    name: string;
    /** The key value. */
    key: unknown;
    /** What was thrown. */
    error: unknown;
  };
  /** [Symbol.index] */
  [event: string]: unknown;
}

/**
 * Repairs rows found by the validator or recorded in the repair log. See {@link fixer}.
 *
 * @example
 * ```ts
 * const outcome = await orders.fix({ table: 'orders', key: { id: 42 }, kind: 'changed' });
 * ```
 */
export interface Fixer {
  /** Labels events, logs and metrics. */
  readonly name: string;
  /** Makes the other side match the side in charge for one row. */
  fix(inconsistency: Inconsistency, options?: { signal?: AbortSignal }): Promise<FixOutcome>;
  /** Fixes each one in turn; a failure is emitted (`failed`) and counted, and the rest go on. */
  fixAll(
    inconsistencies: Iterable<Inconsistency> | AsyncIterable<Inconsistency>,
    options?: { signal?: AbortSignal },
  ): Promise<FixSummary>;
  /** Fixes every key in the repair log and removes the entries handled (failed ones stay). */
  drainRepairLog(options?: { signal?: AbortSignal }): Promise<FixSummary>;
  /** Typed events. */
  readonly events: EventSource<FixerEvents>;
}

/**
 * Options of {@link fixer}: the shared {@link MigrationSideOptions} (source, target,
 * table, key, version, transform...) plus the side in charge and the repair log.
 *
 * @example
 * ```ts
 * const options: FixerOptions = {
 *   source, target, table: 'orders', key: 'id', version: 'version', primary: 'source',
 * };
 * ```
 */
export interface FixerOptions extends MigrationSideOptions {
  /**
   * Version column compared at fix time (an integer counter or an `updated_at`
   * timestamp, same name on both sides; it must grow on every write of a key and never
   * restart, even across a delete and re-insert).
   */
  version: string;
  /** The side in charge: fixed, or from the live phase (source until `target-first`). */
  primary: 'source' | 'target' | PhaseStore;
  /** The repair log `drainRepairLog()` reads (see `createRepairLogTable`). */
  repairLog?: {
    /** Database holding the repair log. */
    db: AnyDb;
    /** Its table. Default `girder_migration_repair_log`. */
    table?: string;
  };
  /** Repair log entries read per batch (1 to 10 000). Default 100. */
  batchSize?: number;
  /** Labels events, logs and metrics. Default `fixer`. */
  name?: string;
}

const identity = (row: Row) => row;

const schema = z
  .strictObject({
    ...migrationSideShape,
    version: columnSchema,
    primary: z.union([
      z.enum(['source', 'target']),
      z.custom<PhaseStore>(
        (v) => typeof v === 'object' && v !== null && typeof (v as PhaseStore).phase === 'string',
        { message: "must be 'source', 'target' or a PhaseStore" },
      ),
    ]),
    repairLog: z
      .strictObject({ db: kyselySchema, table: identifierSchema.default(DEFAULT_REPAIR_LOG_TABLE) })
      .optional(),
    batchSize: z.number().int().min(1).max(10_000).default(100),
    name: nameSchema.default('fixer'),
  })
  .refine(transformPair.check, transformPair.error);

const emptySummary = (): FixSummary => ({
  copied: 0,
  deleted: 0,
  skipped: 0,
  failed: 0,
  unkeyed: 0,
});

/**
 * A race-free fixer. For each key it re-reads the side in charge, then:
 * - row there: upsert it on the other side with
 *   `INSERT ... ON CONFLICT (key) DO UPDATE ... WHERE other.version <= excluded.version`,
 *   so a newer row written meanwhile is never replaced; then re-read the side in charge
 *   and undo the copy if the row was deleted meanwhile;
 * - row absent: read the other side's version, re-check that the side in charge still
 *   lacks the row, and `DELETE ... WHERE key = ? AND version = <seen>`.
 *
 * @example
 * ```ts
 * import { fixer } from 'girder/migrator';
 *
 * const fix = fixer({
 *   source, target, table: 'orders', key: 'id', version: 'version', primary: phase,
 *   repairLog: { db: source },
 * });
 * await fix.drainRepairLog();
 * await fix.fixAll(validationResult.inconsistencies);
 * ```
 */
export function fixer(options: FixerOptions): Fixer {
  const o = parseOptions('fixer', schema, options);
  const targetTable = o.targetTable ?? o.table;
  const events = new TypedEmitter<FixerEvents>();
  const dbOf = (side: Side) => (side === 'source' ? o.source : o.target);
  const tableOf = (side: Side) => (side === 'source' ? o.table : targetTable);
  const copyFor = (from: Side) =>
    from === 'source' ? (o.transform ?? identity) : (o.transformBack ?? identity);
  const primarySide = (): Side =>
    typeof o.primary === 'string' ? o.primary : primaryOf(o.primary.phase);
  const keys = keyColumnsOf(o.key);

  /** Fix the row keyed `tuple`; events and outcomes carry the caller-facing `key`. */
  async function fixKey(tuple: KeyTuple): Promise<FixOutcome> {
    const key = keyValue(keys, tuple);
    const started = o.clock.now();
    const from = primarySide();
    const to: Side = from === 'source' ? 'target' : 'source';
    const done = (action: 'copied' | 'deleted'): FixOutcome => {
      events.emit('fixed', { name: o.name, key, action, to, durationMs: o.clock.now() - started });
      return { key, action, to };
    };
    const skip = (reason: FixSkipReason): FixOutcome => {
      events.emit('skipped', { name: o.name, key, reason });
      return { key, action: 'skipped', to, reason };
    };
    const readPrimary = () => readRow(dbOf(from), tableOf(from), keys, tuple);
    const deleteIfStill = (version: unknown) =>
      deleteRow(dbOf(to), tableOf(to), keys, tuple, { column: o.version, value: version });

    const row = await readPrimary();
    if (row !== undefined) {
      const copy = copyFor(from)(row);
      if (!(await upsertIfNotNewer(dbOf(to), tableOf(to), keys, o.version, copy))) {
        return skip('newer');
      }
      // Deleted on the side in charge while we copied: the deleting writer may already
      // have cleared the other side, so take our copy back out (only if still ours).
      if ((await readPrimary()) === undefined) {
        return (await deleteIfStill(copy[o.version])) ? done('deleted') : skip('changed');
      }
      return done('copied');
    }
    const other = await readRow(dbOf(to), tableOf(to), keys, tuple);
    if (other === undefined) return skip('absent');
    // Re-check: a writer may have inserted it on the side in charge since our first read.
    if ((await readPrimary()) !== undefined) return fixKey(tuple);
    return (await deleteIfStill(other[o.version])) ? done('deleted') : skip('changed');
  }

  const tables = new Set([o.table, targetTable]);
  const keyOf = (inconsistency: Inconsistency): KeyTuple => {
    if (typeof inconsistency !== 'object' || inconsistency === null) {
      throw new InvalidArgumentError('inconsistency', 'must be an object');
    }
    if (!tables.has(inconsistency.table)) {
      throw new InvalidArgumentError(
        'inconsistency',
        `is for table "${inconsistency.table}", not "${o.table}"`,
      );
    }
    return inconsistencyKeyTuple(keys, inconsistency.key);
  };

  const tally = (summary: FixSummary, outcome: FixOutcome) => {
    if (outcome.action === 'copied') summary.copied++;
    else if (outcome.action === 'deleted') summary.deleted++;
    else summary.skipped++;
  };

  /**
   * Fix one key, turning a throw (a bad repair-log key too) into a `failed` event.
   * Resolves whether it succeeded.
   */
  const attempt = async (
    key: unknown,
    toTuple: () => KeyTuple,
    summary: FixSummary,
  ): Promise<boolean> => {
    try {
      tally(summary, await fixKey(toTuple()));
      return true;
    } catch (error) {
      summary.failed++;
      o.logger?.warn('migration fix failed', { fixer: o.name, err: error, key: encodeKey(key) });
      events.emit('failed', { name: o.name, key, error });
      return false;
    }
  };

  return {
    name: o.name,
    async fix(inconsistency, fixOptions = {}) {
      const key = keyOf(inconsistency);
      const signal = checkSignal(fixOptions.signal);
      throwIfAborted(signal);
      return fixKey(key);
    },
    async fixAll(inconsistencies, fixOptions = {}) {
      const signal = checkSignal(fixOptions.signal);
      const isIterable =
        inconsistencies !== null &&
        typeof inconsistencies === 'object' &&
        (Symbol.iterator in inconsistencies || Symbol.asyncIterator in inconsistencies);
      if (!isIterable) throw new InvalidArgumentError('inconsistencies', 'must be iterable');
      const summary = emptySummary();
      for await (const inconsistency of inconsistencies) {
        throwIfAborted(signal);
        const tuple = keyOf(inconsistency);
        await attempt(keyValue(keys, tuple), () => tuple, summary);
      }
      return summary;
    },
    async drainRepairLog(drainOptions = {}) {
      const signal = checkSignal(drainOptions.signal);
      const log = o.repairLog;
      if (log === undefined) {
        throw new InvalidArgumentError(
          'repairLog',
          'this fixer was made without a repairLog option',
        );
      }
      const summary = emptySummary();
      const kept = new Set<string>();
      for (;;) {
        throwIfAborted(signal);
        const batch = (
          await readRepairs(log.db, log.table, o.table, o.batchSize + kept.size)
        ).filter((e) => !kept.has(e.id));
        if (batch.length === 0) return summary;
        // Several failed writes of one key need one fix.
        const byKey = new Map<string, { key: unknown; ids: string[] }>();
        const handled: string[] = [];
        for (const entry of batch) {
          if (entry.key === undefined) {
            summary.unkeyed++;
            handled.push(entry.id);
            o.logger?.warn('migration repair entry names no row: run a full validation', {
              fixer: o.name,
              op: entry.op,
              error: entry.error,
            });
            continue;
          }
          const id = encodeKey(entry.key);
          const group = byKey.get(id) ?? { key: entry.key, ids: [] };
          group.ids.push(entry.id);
          byKey.set(id, group);
        }
        for (const { key, ids } of byKey.values()) {
          throwIfAborted(signal);
          if (await attempt(key, () => keyTuple(keys, key), summary)) handled.push(...ids);
          else for (const id of ids) kept.add(id);
        }
        await removeRepairs(log.db, log.table, handled);
      }
    },
    events,
  };
}
