// Public shapes of the chunk-checksum validator: options, the run handle, its result and
// events. The engine lives in validator.ts; the per-dialect SQL in checksum-sql.ts.
import type { Kysely } from 'kysely';
import type { Clock, EventSource } from '../core/index.js';
import type { Inconsistency } from './types.js';

/**
 * A Kysely instance of any database type: the validator addresses tables by name.
 *
 * @example
 * ```ts
 * const db: AnyKysely = new Kysely<MyDb>({ dialect });
 * ```
 */
// biome-ignore lint/suspicious/noExplicitAny: tables are addressed by a dynamic name.
export type AnyKysely = Kysely<any>;

/**
 * SQL dialect the checksum queries are written for. `postgres` covers PostgreSQL and
 * PGlite (same SQL); `mysql` covers MySQL 8 through Kysely's MySQL dialect.
 *
 * @example
 * ```ts
 * const dialect: ChecksumDialect = 'postgres';
 * ```
 */
export type ChecksumDialect = 'postgres' | 'mysql';

/**
 * Where a validator keeps its resumable state: a table made by `createValidatorStateTable`
 * (and its `<table>_diffs` companion), in any database reachable through Kysely.
 *
 * @example
 * ```ts
 * const state: ValidatorStateStore = { db: source, table: 'girder_validations' };
 * ```
 */
export interface ValidatorStateStore {
  /** Database holding the state tables. */
  readonly db: AnyKysely;
  /** State table name. Default `girder_validations` (diffs go to `<table>_diffs`). */
  readonly table?: string;
}

/**
 * Options of {@link validator}.
 *
 * @example
 * ```ts
 * const options: ValidatorOptions = {
 *   source, target, table: 'orders', key: 'id',
 *   columns: ['user_id', 'total', 'status', 'updated_at'],
 *   targetChunkTimeMs: 200,
 * };
 * ```
 */
export interface ValidatorOptions {
  /** Database the table is moved from (the reference side: chunk boundaries come from it). */
  readonly source: AnyKysely;
  /** Database the table is moved to. */
  readonly target: AnyKysely;
  /** Table name on the source (optionally schema-qualified: `shop.orders`). */
  readonly table: string;
  /** Table name on the target. Default: `table`. */
  readonly targetTable?: string;
  /** Primary-key column, or the columns of a composite key, in index order. */
  readonly key: string | readonly string[];
  /** Non-key columns compared (the key columns are always part of the row hash). */
  readonly columns: readonly string[];
  /** Rows per chunk (the initial size when `targetChunkTimeMs` is set). Default 1000. */
  readonly chunkSize?: number;
  /** Adapt the chunk size so that one chunk (both sides) takes about this long. Off by default. */
  readonly targetChunkTimeMs?: number;
  /** Smallest chunk the adaptation may choose. Default 100. */
  readonly minChunkSize?: number;
  /** Largest chunk the adaptation may choose. Default 100000. */
  readonly maxChunkSize?: number;
  /**
   * Incremental pass: only rows whose `updatedAt` column is `>= since` on either side.
   * A `Date`, or a number/string in the column's own type (e.g. epoch ms in a BIGINT).
   */
  readonly since?: Date | number | string;
  /** Column holding the row's last-update time; required with `since`. */
  readonly updatedAt?: string;
  /**
   * Load hook called before every chunk: `true` means the databases are busy, and the
   * validator waits (polling with backoff between `loadPollMs` and `maxLoadPollMs`).
   */
  readonly maxLoad?: () => boolean | Promise<boolean>;
  /** First wait after `maxLoad` said busy. Default 100 ms. */
  readonly loadPollMs?: number;
  /** Longest wait between two `maxLoad` polls. Default 5000 ms. */
  readonly maxLoadPollMs?: number;
  /** Keep the run's progress here so that it can be resumed after a crash. Default: in memory only. */
  readonly state?: ValidatorStateStore;
  /**
   * Heterogeneous migration: maps a source row (key columns + `columns`) to the target's
   * row. The chunk checksum cannot run in the database then; each chunk is read on both
   * sides and compared in the process (slower; `targetColumns` names what to read there).
   */
  readonly transform?: (row: Record<string, unknown>) => Record<string, unknown>;
  /** Target columns compared with `transform` (the transformed row's fields). Default: `columns`. */
  readonly targetColumns?: readonly string[];
  /** SQL dialect of both databases. Default `postgres` (also PGlite). */
  readonly dialect?: ChecksumDialect;
  /** How many differences the result lists (all are counted and emitted). Default 10000. */
  readonly maxDiffs?: number;
  /** How the total row count is estimated for progress: planner `stats`, exact `count`, or `none`. Default `stats`. */
  readonly estimate?: 'stats' | 'count' | 'none';
  /** Clock for durations, ETA and throttling waits. Default `systemClock`. */
  readonly clock?: Clock;
  /** Name used in events and metrics. Default `validator:<table>`. */
  readonly name?: string;
}

/**
 * Options of {@link Validator.start}.
 *
 * @example
 * ```ts
 * const run = check.start({ runId: 'orders-2026-11-30' });
 * ```
 */
export interface StartOptions {
  /** Id of the run (the state row's key). Default: a random UUID. */
  readonly runId?: string;
  /** Aborting stops the run after the chunk in progress, as {@link ValidationRun.stop} does. */
  readonly signal?: AbortSignal;
}

/**
 * State of a run: `running` (or waiting on `maxLoad`), `paused` (by {@link ValidationRun.pause}),
 * `stopped` (resumable), `done` (every chunk checked) or `failed` (a query threw; resumable).
 *
 * @example
 * ```ts
 * if (run.status === 'done') console.log('complete');
 * ```
 */
export type ValidationStatus = 'running' | 'paused' | 'stopped' | 'done' | 'failed';

/**
 * Progress of a run, as the `progress` event and {@link ValidationRun.progress} report it.
 *
 * @example
 * ```ts
 * check.events.on('progress', (p) => console.log(`${p.rowsDone}/${p.estimatedRows}`, p.etaMs));
 * ```
 */
export interface ValidationProgress {
  /** Run id. */
  readonly runId: string;
  /** Validator name. */
  readonly name: string;
  /** Source rows covered so far (including chunks done before a resume). */
  readonly rowsDone: number;
  /** Chunks checked so far (including chunks done before a resume). */
  readonly chunksDone: number;
  /** Estimated source rows in scope (planner statistics or a count), when known. */
  readonly estimatedRows: number | undefined;
  /** Estimated time left, from the rate of this process; `undefined` until known. */
  readonly etaMs: number | undefined;
  /** Source rows per second in this process so far. */
  readonly rowsPerSecond: number;
  /** Chunk size the next chunk will use. */
  readonly chunkSize: number;
  /** Differences found so far. */
  readonly differences: number;
}

/**
 * One checked chunk, as the `chunk` event reports it.
 *
 * @example
 * ```ts
 * check.events.on('chunk', (c) => { if (!c.matched) console.log('chunk', c.index, 'differs'); });
 * ```
 */
export interface ChunkReport {
  /** Run id. */
  readonly runId: string;
  /** Validator name. */
  readonly name: string;
  /** 0-based chunk number within the run. */
  readonly index: number;
  /** Exclusive lower key bound (`undefined` for the first chunk), as column values. */
  readonly after: Readonly<Record<string, unknown>> | undefined;
  /** Inclusive upper key bound, as column values. */
  readonly upTo: Readonly<Record<string, unknown>>;
  /** Rows in the range on the source. */
  readonly sourceRows: number;
  /** Rows in the range on the target. */
  readonly targetRows: number;
  /** True when both checksums and counts agreed (no row-by-row pass needed). */
  readonly matched: boolean;
  /** Differences found in the chunk. */
  readonly differences: number;
  /** Time spent on the chunk (checksums, and the row pass when it differed). */
  readonly durationMs: number;
  /** Chunk size requested for this chunk. */
  readonly chunkSize: number;
}

/**
 * What a run found. A full validation passed when `status === 'done'` and `differences === 0`.
 *
 * @example
 * ```ts
 * const result = await check.start().result;
 * const clean = result.mode === 'full' && result.status === 'done' && result.differences === 0;
 * ```
 */
export interface ValidationResult {
  /** Run id. */
  readonly runId: string;
  /** Validator name. */
  readonly name: string;
  /** `full`, or `incremental` when `since` was given. */
  readonly mode: 'full' | 'incremental';
  /** `done` when every chunk was checked; `stopped` when stopped early (resumable). */
  readonly status: 'done' | 'stopped';
  /** Source rows covered (all chunks, including those done before a resume). */
  readonly rowsChecked: number;
  /** Chunks checked. */
  readonly chunks: number;
  /** Chunks whose checksums differed and were compared row by row. */
  readonly differingChunks: number;
  /** Rows on the source and not on the target. */
  readonly missing: number;
  /** Rows on the target and not on the source. */
  readonly extra: number;
  /** Rows on both sides with different values. */
  readonly changed: number;
  /** `missing + extra + changed`. */
  readonly differences: number;
  /** The differences, at most `maxDiffs` of them (see `diffsTruncated`). */
  readonly diffs: readonly Inconsistency[];
  /** True when more differences were found than `diffs` lists. */
  readonly diffsTruncated: boolean;
  /** When the run was first started (clock ms), before any resume. */
  readonly startedAt: number;
  /** When it finished or stopped (clock ms). */
  readonly finishedAt: number;
}

/**
 * Events of a {@link Validator} (every payload names its run).
 *
 * @example
 * ```ts
 * check.events.on('diff', ({ inconsistency }) => repairQueue.push(inconsistency));
 * check.events.on('done', ({ result }) => console.log(result.differences, 'differences'));
 * ```
 */
export type ValidatorEvents = {
  /** After every chunk: rows and chunks done, estimate, ETA. */
  progress: ValidationProgress;
  /** One chunk checked. */
  chunk: ChunkReport;
  /** One differing row found. */
  diff: {
    /** Run id. */
    readonly runId: string;
    /** Validator name. */
    readonly name: string;
    /** The differing row. */
    readonly inconsistency: Inconsistency;
  };
  /** `maxLoad` reported busy (or the run was paused): the run waits. */
  throttled: {
    /** Run id. */
    readonly runId: string;
    /** Validator name. */
    readonly name: string;
    /** `load`: the `maxLoad` hook said busy; `paused`: {@link ValidationRun.pause}. */
    readonly reason: 'load' | 'paused';
    /** Wait before the next poll (0 for `paused`, which waits for `resume`). */
    readonly waitMs: number;
  };
  /** The run finished or was stopped. */
  done: {
    /** Run id. */
    readonly runId: string;
    /** Validator name. */
    readonly name: string;
    /** What the run found. */
    readonly result: ValidationResult;
  };
  /** A query failed; the run is `failed` and can be resumed from its last chunk. */
  error: {
    /** Run id. */
    readonly runId: string;
    /** Validator name. */
    readonly name: string;
    /** The error the query threw. */
    readonly error: unknown;
  };
};

/**
 * A validation in progress. The run works in the background from the moment it is
 * returned; `result` settles when it is done, stopped or failed.
 *
 * @example
 * ```ts
 * const run = check.start();
 * run.pause();   // finishes the chunk in progress, then waits
 * run.resume();
 * const result = await run.result;
 * ```
 */
export interface ValidationRun {
  /** Run id (the state row's key). */
  readonly id: string;
  /** Current status. */
  readonly status: ValidationStatus;
  /** Latest progress snapshot. */
  readonly progress: ValidationProgress;
  /** Settles with the result (status `done` or `stopped`); rejects when a query fails. */
  readonly result: Promise<ValidationResult>;
  /** Pause after the chunk in progress (state is saved). */
  pause(): void;
  /** Continue a paused run. */
  resume(): void;
  /** Stop after the chunk in progress; the result has status `stopped`, resumable later. */
  stop(): Promise<ValidationResult>;
}

/**
 * A configured validator: starts runs, resumes them from the state table, and emits events.
 *
 * @example
 * ```ts
 * const check = validator({ source, target, table: 'orders', key: 'id', columns: ['total'] });
 * const result = await check.start().result;
 * ```
 */
export interface Validator {
  /** Name used in events. */
  readonly name: string;
  /** Events of every run of this validator. */
  readonly events: EventSource<ValidatorEvents>;
  /**
   * Start a new run. With a `state` store the run id must not exist yet (else `result`
   * rejects with `INVALID_ARGUMENT`: resume that run instead).
   */
  start(options?: StartOptions): ValidationRun;
  /**
   * Continue a run from its last chunk done, as recorded in the state table (after a
   * crash, a `stop()` or a failure). Needs the `state` option; rejects with
   * `INVALID_ARGUMENT` for an unknown or finished run.
   */
  resume(runId: string, options?: Omit<StartOptions, 'runId'>): Promise<ValidationRun>;
  /** Stop every run of this validator (after their chunk in progress). */
  close(): Promise<void>;
  /** Same as {@link Validator.close}. */
  [Symbol.asyncDispose](): Promise<void>;
}
