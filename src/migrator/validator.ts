// validator(): the chunk-checksum validator of girder/migrator. Options and the run
// registry live here; the chunk loop in validator-run.ts, the SQL in checksum-sql.ts.
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import {
  checkSignal,
  clockSchema,
  exponential,
  functionSchema,
  InvalidArgumentError,
  parseOptions,
  systemClock,
  TypedEmitter,
} from '../core/index.js';
import { checksumSqlFor, type TableScope } from './checksum-sql.js';
import { ChunkSizer } from './chunk-size.js';
import { Run, type RunContext } from './validator-run.js';
import { memoryRunStore, type SavedRun, sqlRunStore, stateTableSchema } from './validator-state.js';
import type {
  AnyKysely,
  StartOptions,
  ValidationRun,
  Validator,
  ValidatorEvents,
  ValidatorOptions,
} from './validator-types.js';

const identifier = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be a plain SQL identifier')
  .max(63);
const tableName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/, 'must be a plain SQL identifier')
  .max(127);
const kysely = z.custom<AnyKysely>(
  (v) =>
    typeof v === 'object' &&
    v !== null &&
    typeof (v as AnyKysely).selectFrom === 'function' &&
    typeof (v as AnyKysely).transaction === 'function',
  { message: 'must be a Kysely instance' },
);
const count = (min: number, max: number) => z.number().int().min(min).max(max);
const unique = (list: readonly string[]) => new Set(list).size === list.length;

const schema = z
  .strictObject({
    source: kysely,
    target: kysely,
    table: tableName,
    targetTable: tableName.optional(),
    key: z.union([identifier, z.array(identifier).min(1).max(16)]),
    columns: z.array(identifier).max(1000),
    chunkSize: count(1, 1_000_000).default(1000),
    targetChunkTimeMs: z.number().finite().positive().max(3_600_000).optional(),
    minChunkSize: count(1, 1_000_000).default(100),
    maxChunkSize: count(1, 1_000_000).default(100_000),
    since: z.union([z.date(), z.number().finite(), z.string().min(1)]).optional(),
    updatedAt: identifier.optional(),
    maxLoad: functionSchema<() => boolean | Promise<boolean>>().optional(),
    loadPollMs: z.number().finite().positive().max(3_600_000).default(100),
    maxLoadPollMs: z.number().finite().positive().max(3_600_000).default(5000),
    state: z.strictObject({ db: kysely, table: stateTableSchema }).optional(),
    transform:
      functionSchema<(row: Record<string, unknown>) => Record<string, unknown>>().optional(),
    targetColumns: z.array(identifier).max(1000).optional(),
    dialect: z.enum(['postgres', 'mysql']).default('postgres'),
    maxDiffs: count(0, 10_000_000).default(10_000),
    estimate: z.enum(['stats', 'count', 'none']).default('stats'),
    clock: clockSchema.default(systemClock),
    name: z.string().min(1).max(200).optional(),
  })
  .superRefine((o, ctx) => {
    const key = typeof o.key === 'string' ? [o.key] : (o.key ?? []);
    const issue = (path: string, message: string) =>
      ctx.addIssue({ code: 'custom', path: [path], message });
    if (!unique(key)) issue('key', 'must not repeat a column');
    if (Array.isArray(o.columns)) {
      if (!unique(o.columns)) issue('columns', 'must not repeat a column');
      if (o.columns.some((c) => key.includes(c))) issue('columns', 'must not include key columns');
    }
    if (o.minChunkSize > o.maxChunkSize) issue('maxChunkSize', 'must be >= minChunkSize');
    if (o.loadPollMs > o.maxLoadPollMs) issue('maxLoadPollMs', 'must be >= loadPollMs');
    if ((o.since === undefined) !== (o.updatedAt === undefined)) {
      issue('updatedAt', 'since and updatedAt go together');
    }
    if (o.transform !== undefined && o.since !== undefined) {
      issue('transform', 'cannot be combined with an incremental pass (since)');
    }
    if (o.targetColumns !== undefined && o.transform === undefined) {
      issue('targetColumns', 'only applies with transform');
    }
  });

/**
 * Compare a table on two databases. The full pass walks the primary key in chunks
 * (keyset pagination); each chunk gets a count and an order-independent checksum
 * computed by each database, and only chunks that differ are compared row by row, in
 * both directions (rows `missing` on the target, `extra` on it, or `changed`). With
 * `since` and `updatedAt` it checks only rows changed since that watermark. With a
 * `state` store every chunk done is recorded, so a run resumes after a crash.
 *
 * @example
 * ```ts
 * import { createValidatorStateTable, validator } from 'girder/migrator';
 *
 * await createValidatorStateTable(source);
 * const check = validator({
 *   source, target, table: 'orders', key: 'id',
 *   columns: ['user_id', 'total', 'status', 'updated_at'],
 *   targetChunkTimeMs: 200,
 *   maxLoad: async () => (await replicationLagMs()) > 1000,
 *   state: { db: source },
 * });
 * check.events.on('progress', (p) => console.log(p.rowsDone, p.estimatedRows, p.etaMs));
 * const result = await check.start({ runId: 'orders-full-1' }).result;
 * // after a crash, in a new process: await (await check.resume('orders-full-1')).result;
 * ```
 */
export function validator(options: ValidatorOptions): Validator {
  const o = parseOptions('validator', schema, options);
  const name = o.name ?? `validator:${o.table}`;
  const key = typeof o.key === 'string' ? [o.key] : [...o.key];
  const filter = o.since === undefined ? undefined : { column: o.updatedAt!, since: o.since };
  const sourceScope: TableScope = { table: o.table, key, columns: o.columns, filter };
  const targetScope: TableScope = {
    table: o.targetTable ?? o.table,
    key,
    columns: o.targetColumns ?? o.columns,
    filter,
  };
  const sql = checksumSqlFor(o.dialect);
  const events = new TypedEmitter<ValidatorEvents>();
  const store = o.state === undefined ? memoryRunStore : sqlRunStore(o.state.db, o.state.table);
  const mode = filter === undefined ? 'full' : 'incremental';
  const active = new Map<string, Run>();

  const context: RunContext = {
    name,
    table: o.table,
    events,
    store,
    clock: o.clock,
    sql,
    source: o.source,
    target: o.target,
    sourceScope,
    targetScope,
    transform: o.transform,
    maxLoad: o.maxLoad,
    loadBackoff: exponential({ initialMs: o.loadPollMs, maxMs: o.maxLoadPollMs, jitter: 'none' }),
    maxDiffs: o.maxDiffs,
    makeSizer: (initial) =>
      new ChunkSizer({
        initial: initial ?? o.chunkSize,
        min: o.targetChunkTimeMs === undefined ? 1 : o.minChunkSize,
        max: o.targetChunkTimeMs === undefined ? 1_000_000 : o.maxChunkSize,
        targetMs: o.targetChunkTimeMs,
      }),
    async estimate() {
      if (o.estimate === 'none') return undefined;
      if (o.estimate === 'stats' && filter === undefined) {
        const n = await sql.estimateRows(o.source, o.table);
        if (n !== undefined) return n;
      }
      return sql.countRows(o.source, sourceScope);
    },
  };

  const launch = (run: Run, signal: AbortSignal | undefined): ValidationRun => {
    active.set(run.id, run);
    const onAbort = () => void run.stop();
    signal?.addEventListener('abort', onAbort, { once: true });
    const forget = () => {
      active.delete(run.id);
      signal?.removeEventListener('abort', onAbort);
    };
    run.result.then(forget, forget);
    if (signal?.aborted) onAbort();
    return run;
  };

  const checkStart = (options: unknown, allowRunId: boolean) => {
    if (options === null || typeof options !== 'object') {
      throw new InvalidArgumentError('options', 'must be an object');
    }
    const { runId, signal, ...rest } = options as StartOptions;
    const unknown = Object.keys(rest)[0];
    if (unknown !== undefined)
      throw new InvalidArgumentError(`options.${unknown}`, 'is not an option');
    if (runId !== undefined && (!allowRunId || !validRunId(runId))) {
      throw new InvalidArgumentError('options.runId', 'must be a string of 1 to 200 characters');
    }
    return { runId, signal: checkSignal(signal, 'options.signal') };
  };

  return {
    name,
    events,
    start(options = {}) {
      const { runId = randomUUID(), signal } = checkStart(options, true);
      if (active.has(runId)) throw new InvalidArgumentError('runId', `run ${runId} is running`);
      const saved: SavedRun = {
        runId,
        name,
        table: o.table,
        mode,
        status: 'running',
        lastKey: undefined,
        chunkSize: o.chunkSize,
        startedAt: o.clock.now(),
        rowsDone: 0,
        chunksDone: 0,
        differingChunks: 0,
        missing: 0,
        extra: 0,
        changed: 0,
      };
      return launch(new Run(context, saved, [], true), signal);
    },
    async resume(runId, options = {}) {
      if (!validRunId(runId))
        throw new InvalidArgumentError('runId', 'must be a string of 1 to 200 characters');
      const { signal } = checkStart(options, false);
      if (o.state === undefined)
        throw new InvalidArgumentError('runId', 'resume needs the state option');
      if (active.has(runId))
        throw new InvalidArgumentError('runId', `run ${runId} is running here`);
      const saved = await store.load(runId);
      if (saved === undefined)
        throw new InvalidArgumentError('runId', `no run ${runId} in the state table`);
      if (saved.status === 'done')
        throw new InvalidArgumentError('runId', `run ${runId} is already done`);
      if (saved.table !== o.table || saved.mode !== mode) {
        throw new InvalidArgumentError(
          'runId',
          `run ${runId} is a ${saved.mode} run of ${saved.table}`,
        );
      }
      const earlier = await store.loadDiffs(runId, o.table, o.maxDiffs);
      return launch(new Run(context, saved, earlier, false), signal);
    },
    async close() {
      await Promise.all([...active.values()].map((run) => run.stop().catch(() => undefined)));
    },
    [Symbol.asyncDispose]() {
      return this.close();
    },
  };
}

const validRunId = (v: unknown): v is string =>
  typeof v === 'string' && v.length > 0 && v.length <= 200;
