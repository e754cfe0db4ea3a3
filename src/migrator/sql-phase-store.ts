// The phase in a SQL row, polled: every instance sharing the database sees a switch
// within `pollMs`, without a restart. One row per migration (by name).
import { sql } from 'kysely';
import { z } from 'zod';
import {
  type Clock,
  clockSchema,
  parseOptions,
  systemClock,
  type TimerHandle,
} from '../core/index.js';
import type { Logger } from '../logger/index.js';
import { type PhaseStore, phaseTracker } from './phase-store.js';
import {
  type AnyDb,
  checkDb,
  checkPhase,
  identifierSchema,
  loggerSchema,
  nameSchema,
} from './shared.js';
import type { Phase } from './types.js';

/** Default name of the phase table. */
export const DEFAULT_PHASE_TABLE = 'girder_migration_phase';

/**
 * Options of {@link createPhaseTable}.
 *
 * @example
 * ```ts
 * await createPhaseTable(db, { table: 'shop_migration_phase' });
 * ```
 */
export interface CreatePhaseTableOptions {
  /** Table name. Default `girder_migration_phase`. */
  table?: string;
}

const tableSchema = z.strictObject({ table: identifierSchema.default(DEFAULT_PHASE_TABLE) });

/**
 * Creates the phase table of {@link sqlPhaseStore} if it does not exist (schema builder
 * only, so any Kysely dialect). Safe to call on every start.
 *
 * @example
 * ```ts
 * import { createPhaseTable, sqlPhaseStore } from 'girder/migrator';
 *
 * await createPhaseTable(db);
 * const phase = await sqlPhaseStore(db, { name: 'orders' });
 * ```
 */
export async function createPhaseTable(db: AnyDb, options: CreatePhaseTableOptions = {}) {
  const { table } = parseOptions('createPhaseTable', tableSchema, options);
  await db.schema
    .createTable(table)
    .ifNotExists()
    .addColumn('name', 'varchar(200)', (c) => c.primaryKey())
    .addColumn('phase', 'varchar(32)', (c) => c.notNull())
    .addColumn('version', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('updated_at', 'bigint', (c) => c.notNull().defaultTo(0))
    .execute();
}

/**
 * Options of {@link sqlPhaseStore}.
 *
 * @example
 * ```ts
 * const options: SqlPhaseStoreOptions = { name: 'orders', pollMs: 500 };
 * ```
 */
export interface SqlPhaseStoreOptions {
  /** The table made by {@link createPhaseTable}. Default `girder_migration_phase`. */
  table?: string;
  /** The migration's name: its row in the table; also labels logs and metrics. Default `migration`. */
  name?: string;
  /** Phase written when the row does not exist yet. Default `source-only`. */
  initial?: Phase;
  /** How often the row is re-read (10 ms to 1 h). Default 1 000 ms. */
  pollMs?: number;
  /** Time source of the polling timer and `updated_at`. Default `systemClock`. */
  clock?: Clock;
  /** Where switches are logged. Default: not logged. */
  logger?: Logger;
}

const schema = z.strictObject({
  table: identifierSchema.default(DEFAULT_PHASE_TABLE),
  name: nameSchema.default('migration'),
  initial: z.unknown().optional(),
  pollMs: z.number().int().min(10).max(3_600_000).default(1_000),
  clock: clockSchema.default(systemClock),
  logger: loggerSchema.optional(),
});

/**
 * A phase store on a SQL row (any Kysely database both instances reach), polled every
 * `pollMs`: a switch made on one instance reaches every other within `pollMs`. Resolves
 * once the row is read (created with `initial` if missing), so `phase` is right from the
 * start. A row holding an unknown phase is refused (`error` event; the last good phase stays).
 *
 * @example
 * ```ts
 * import { createPhaseTable, dualWrite, sqlPhaseStore } from 'girder/migrator';
 *
 * await createPhaseTable(mainDb);
 * const phase = await sqlPhaseStore(mainDb, { name: 'orders', pollMs: 1_000 });
 * const orders = dualWrite({ source: mainDb, target: newDb, table: 'orders', key: 'id', phase });
 * ```
 */
export async function sqlPhaseStore(
  db: AnyDb,
  options: SqlPhaseStoreOptions = {},
): Promise<PhaseStore> {
  checkDb(db, 'sqlPhaseStore: db');
  const o = parseOptions('sqlPhaseStore', schema, options);
  const initial = checkPhase(o.initial ?? 'source-only');
  await db
    .insertInto(o.table)
    .values({ name: o.name, phase: initial, version: 0, updated_at: o.clock.now() })
    .onConflict((oc) => oc.column('name').doNothing())
    .execute();
  const readRow = async (): Promise<Phase> => {
    const row = await db
      .selectFrom(o.table)
      .select('phase')
      .where('name', '=', o.name)
      .executeTakeFirst();
    // A deleted row reads as the initial phase, as on first start.
    return checkPhase(row?.phase ?? initial);
  };
  const tracker = phaseTracker(o.name, await readRow(), o.logger);
  let timer: TimerHandle | undefined;
  let closed = false;
  const poll = async () => {
    try {
      tracker.adopt(await readRow(), 'remote');
    } catch (error) {
      tracker.fail(error);
    } finally {
      if (!closed) timer = o.clock.setTimeout(poll, o.pollMs);
    }
  };
  timer = o.clock.setTimeout(poll, o.pollMs);
  const close = async () => {
    closed = true;
    if (timer !== undefined) o.clock.clearTimeout(timer);
  };
  return {
    kind: 'sql',
    name: o.name,
    get phase() {
      return tracker.current;
    },
    async get() {
      const phase = await readRow();
      tracker.adopt(phase, 'remote');
      return phase;
    },
    async set(phase) {
      checkPhase(phase);
      await db
        .insertInto(o.table)
        .values({ name: o.name, phase, version: 1, updated_at: o.clock.now() })
        .onConflict((oc) =>
          oc.column('name').doUpdateSet({
            phase,
            version: sql`${sql.ref(`${o.table}.version`)} + 1`,
            updated_at: o.clock.now(),
          }),
        )
        .execute();
      tracker.adopt(phase, 'local');
    },
    events: tracker.events,
    close,
    [Symbol.asyncDispose]: close,
  };
}
