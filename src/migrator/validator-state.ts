// The resumable state of validation runs: one row per run (last key done, counters), one
// row per difference found. A chunk's differences and the run row's new last key are
// written in one transaction, so after a crash a chunk is either fully recorded (and not
// redone) or not at all (and redone from its start).
import type { Kysely } from 'kysely';
import { z } from 'zod';
import { parseOptions } from '../core/index.js';
import { parseKey, serializeKey } from './chunk-key.js';
import type { Inconsistency } from './types.js';
import type { AnyKysely } from './validator-types.js';

/** Default name of the validator's state table. */
export const DEFAULT_VALIDATOR_STATE_TABLE = 'girder_validations';

/** Letters, digits and underscores, optionally schema-qualified: safe as an identifier. */
export const stateTableSchema = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/, 'must be a plain SQL identifier')
  .max(100)
  .default(DEFAULT_VALIDATOR_STATE_TABLE);

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

const createSchema = z.strictObject({ table: stateTableSchema });

/** @internal One run row. Counters are BIGINT (drivers may return them as strings). */
export interface RunRow {
  run_id: string;
  name: string;
  table_name: string;
  mode: string;
  status: string;
  last_key: string | null;
  chunk_size: number;
  rows_done: number | string;
  chunks_done: number | string;
  differing_chunks: number | string;
  missing: number | string;
  extra: number | string;
  changed: number | string;
  started_at: number | string;
  updated_at: number | string;
}

/** @internal One recorded difference. */
export interface DiffRow {
  run_id: string;
  row_key: string;
  kind: string;
}

const DIFF_BATCH = 1000;

type StateDb = Kysely<Record<string, RunRow | DiffRow>>;

/**
 * Create the validator's state tables if they do not exist yet: `<table>` (one row per
 * run) and `<table>_diffs` (one row per difference). Built with Kysely's schema builder,
 * so it runs on PostgreSQL, PGlite and MySQL. Safe to call on every start.
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
  const { table } = parseOptions('createValidatorStateTable', createSchema, options);
  const schema = (db as StateDb).schema;
  await schema
    .createTable(table)
    .ifNotExists()
    .addColumn('run_id', 'varchar(200)', (c) => c.primaryKey())
    .addColumn('name', 'varchar(200)', (c) => c.notNull())
    .addColumn('table_name', 'varchar(200)', (c) => c.notNull())
    .addColumn('mode', 'varchar(16)', (c) => c.notNull())
    .addColumn('status', 'varchar(16)', (c) => c.notNull())
    .addColumn('last_key', 'text')
    .addColumn('chunk_size', 'integer', (c) => c.notNull())
    .addColumn('rows_done', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('chunks_done', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('differing_chunks', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('missing', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('extra', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('changed', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('started_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await schema
    .createTable(`${table}_diffs`)
    .ifNotExists()
    .addColumn('run_id', 'varchar(200)', (c) => c.notNull())
    .addColumn('row_key', 'varchar(2000)', (c) => c.notNull())
    .addColumn('kind', 'varchar(16)', (c) => c.notNull())
    .addPrimaryKeyConstraint(`${table.replace('.', '_')}_diffs_pk`, ['run_id', 'row_key'])
    .execute();
}

/** @internal Counters of a run, as kept in its state row. */
export interface RunCounters {
  rowsDone: number;
  chunksDone: number;
  differingChunks: number;
  missing: number;
  extra: number;
  changed: number;
}

/** @internal A run as saved: where it is and what it found so far. */
export interface SavedRun extends RunCounters {
  readonly runId: string;
  readonly name: string;
  readonly table: string;
  readonly mode: 'full' | 'incremental';
  readonly status: string;
  readonly lastKey: unknown[] | undefined;
  readonly chunkSize: number;
  readonly startedAt: number;
}

/** @internal Where runs are kept: the state tables, or nowhere (in-memory runs). */
export interface RunStore {
  /** Insert a new run row; throws when the id exists. */
  create(run: SavedRun): Promise<void>;
  load(runId: string): Promise<SavedRun | undefined>;
  /** Record one chunk: its diffs and the run's new position, atomically. */
  saveChunk(run: SavedRun, diffs: readonly Inconsistency[], now: number): Promise<void>;
  setStatus(runId: string, status: string, now: number): Promise<void>;
  /** Differences recorded by earlier processes of this run (at most `limit`). */
  loadDiffs(runId: string, table: string, limit: number): Promise<Inconsistency[]>;
}

/** @internal A store that keeps nothing: runs cannot be resumed. */
export const memoryRunStore: RunStore = {
  async create() {},
  async load() {
    return undefined;
  },
  async saveChunk() {},
  async setStatus() {},
  async loadDiffs() {
    return [];
  },
};

const toRow = (run: SavedRun, now: number): RunRow => ({
  run_id: run.runId,
  name: run.name,
  table_name: run.table,
  mode: run.mode,
  status: run.status,
  last_key: serializeKey(run.lastKey),
  chunk_size: run.chunkSize,
  rows_done: run.rowsDone,
  chunks_done: run.chunksDone,
  differing_chunks: run.differingChunks,
  missing: run.missing,
  extra: run.extra,
  changed: run.changed,
  started_at: run.startedAt,
  updated_at: now,
});

/** @internal Runs kept in the state tables of `db`. */
export function sqlRunStore(anyDb: AnyKysely, table: string): RunStore {
  const db = anyDb as Kysely<Record<string, RunRow>>;
  const diffsDb = anyDb as Kysely<Record<string, DiffRow>>;
  const diffTable = `${table}_diffs`;
  return {
    async create(run) {
      await db.insertInto(table).values(toRow(run, run.startedAt)).execute();
    },
    async load(runId) {
      const row = await db
        .selectFrom(table)
        .selectAll()
        .where('run_id', '=', runId)
        .executeTakeFirst();
      if (row === undefined) return undefined;
      return {
        runId: row.run_id,
        name: row.name,
        table: row.table_name,
        mode: row.mode === 'incremental' ? 'incremental' : 'full',
        status: row.status,
        lastKey: parseKey(row.last_key),
        chunkSize: Number(row.chunk_size),
        startedAt: Number(row.started_at),
        rowsDone: Number(row.rows_done),
        chunksDone: Number(row.chunks_done),
        differingChunks: Number(row.differing_chunks),
        missing: Number(row.missing),
        extra: Number(row.extra),
        changed: Number(row.changed),
      };
    },
    async saveChunk(run, diffs, now) {
      const { run_id: _, started_at: __, ...update } = toRow(run, now);
      const rows = diffs.map((d) => ({
        run_id: run.runId,
        row_key: JSON.stringify(d.key),
        kind: d.kind,
      }));
      await anyDb.transaction().execute(async (trx) => {
        // Batches keep each INSERT far below the 65535 bind parameters of PostgreSQL.
        for (let i = 0; i < rows.length; i += DIFF_BATCH) {
          const batch = rows.slice(i, i + DIFF_BATCH);
          await (trx as typeof diffsDb).insertInto(diffTable).values(batch).execute();
        }
        await (trx as typeof db)
          .updateTable(table)
          .set(update)
          .where('run_id', '=', run.runId)
          .execute();
      });
    },
    async setStatus(runId, status, now) {
      await db
        .updateTable(table)
        .set({ status, updated_at: now })
        .where('run_id', '=', runId)
        .execute();
    },
    async loadDiffs(runId, sourceTable, limit) {
      const rows = await diffsDb
        .selectFrom(diffTable)
        .selectAll()
        .where('run_id', '=', runId)
        .orderBy('row_key')
        .limit(limit)
        .execute();
      return rows.map((r) => ({
        table: sourceTable,
        key: JSON.parse(r.row_key) as Record<string, unknown>,
        kind: r.kind as Inconsistency['kind'],
      }));
    },
  };
}
