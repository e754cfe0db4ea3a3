// Source/target database pairs for the migrator tests: two PGlite instances in process, or
// two databases of one real PostgreSQL server (a dedicated server per test file).
import { PGlite } from '@electric-sql/pglite';
import { Kysely, PostgresDialect, sql } from 'kysely';
import { KyselyPGlite } from 'kysely-pglite';
import { afterAll, beforeAll } from 'vitest';
import {
  createRepairLogTable,
  type DualWriteOptions,
  type DualWriter,
  dualWrite,
} from '../../src/migrator/index.js';
import type { AnyDb } from '../../src/migrator/shared.js';
import { type PostgresServer, postgresPool, startPostgres } from '../harness/index.js';

export interface DbPair {
  readonly kind: 'pglite' | 'postgres';
  readonly source: AnyDb;
  readonly target: AnyDb;
  /** Connection URLs (postgres only). */
  readonly urls?: { source: string; target: string };
  close(): Promise<void>;
}

export async function pglitePair(): Promise<DbPair> {
  const [a, b] = [new PGlite(), new PGlite()];
  await Promise.all([a.waitReady, b.waitReady]);
  const source = new Kysely<never>({ dialect: new KyselyPGlite(a).dialect }) as unknown as AnyDb;
  const target = new Kysely<never>({ dialect: new KyselyPGlite(b).dialect }) as unknown as AnyDb;
  return {
    kind: 'pglite',
    source,
    target,
    async close() {
      await Promise.all([source.destroy(), target.destroy()]);
    },
  };
}

/** One PGlite as both sides: tests that name a separate target table. */
export async function pgliteOne(): Promise<DbPair> {
  const client = new PGlite();
  await client.waitReady;
  const db = new Kysely<never>({ dialect: new KyselyPGlite(client).dialect }) as unknown as AnyDb;
  return { kind: 'pglite', source: db, target: db, close: () => db.destroy() };
}

let server: PostgresServer | undefined;
let counter = 0;

export function pgDb(url: string, max = 4): AnyDb {
  const pool = postgresPool(url, max);
  return new Kysely<never>({ dialect: new PostgresDialect({ pool }) }) as unknown as AnyDb;
}

/** Two fresh databases on the file's PostgreSQL server. */
export async function postgresPair(): Promise<DbPair> {
  server ??= await startPostgres();
  const admin = pgDb(server.url, 1);
  const n = `${process.pid}_${++counter}`;
  try {
    await sql.raw(`CREATE DATABASE src_${n}`).execute(admin);
    await sql.raw(`CREATE DATABASE dst_${n}`).execute(admin);
  } finally {
    await admin.destroy();
  }
  const base = server.url.replace(/\/postgres$/, '');
  const urls = { source: `${base}/src_${n}`, target: `${base}/dst_${n}` };
  const source = pgDb(urls.source);
  const target = pgDb(urls.target);
  return {
    kind: 'postgres',
    source,
    target,
    urls,
    async close() {
      await Promise.all([source.destroy(), target.destroy()]);
    },
  };
}

export async function stopServer(): Promise<void> {
  await server?.stop();
  server = undefined;
}

/** The table every migrator test moves. */
export async function createOrders(db: AnyDb, table = 'orders'): Promise<void> {
  await db.schema
    .createTable(table)
    .ifNotExists()
    .addColumn('id', 'bigint', (c) => c.primaryKey())
    .addColumn('status', 'varchar(32)', (c) => c.notNull())
    .addColumn('total', 'integer', (c) => c.notNull())
    .addColumn('note', 'text')
    .addColumn('version', 'bigint', (c) => c.notNull().defaultTo(1))
    .execute();
}

export async function allRows(db: AnyDb, table = 'orders') {
  const rows = await db.selectFrom(table).selectAll().orderBy('id').execute();
  return rows.map(
    (r): Record<string, unknown> => ({ ...r, id: Number(r.id), version: Number(r.version) }),
  );
}

/** The backends every routing and fixer suite runs on. */
export const BACKENDS: [string, () => Promise<DbPair>][] = [
  ['PGlite', pglitePair],
  ['PostgreSQL', postgresPair],
];

/** The key shapes of the migrator suites: `orders` (one column) and `order_lines` (two). */
export type TableShape = 'orders' | 'lines';

/** The migrated table with a composite primary key (tenant_id, id). */
export async function createOrderLines(db: AnyDb, table = 'order_lines'): Promise<void> {
  await db.schema
    .createTable(table)
    .ifNotExists()
    .addColumn('tenant_id', 'integer', (c) => c.notNull())
    .addColumn('id', 'bigint', (c) => c.notNull())
    .addColumn('status', 'varchar(32)', (c) => c.notNull())
    .addColumn('total', 'integer', (c) => c.notNull())
    .addColumn('note', 'text')
    .addColumn('version', 'bigint', (c) => c.notNull().defaultTo(1))
    .addPrimaryKeyConstraint(`${table}_pk`, ['tenant_id', 'id'])
    .execute();
}

/** Creates a table of `shape` on `db`. */
export const createShaped = (db: AnyDb, shape: TableShape, table: string) =>
  shape === 'orders' ? createOrders(db, table) : createOrderLines(db, table);

/** Every row of a composite-key table, ordered by key, numbers as numbers. */
export async function allLines(db: AnyDb, table = 'order_lines') {
  const rows = await db.selectFrom(table).selectAll().orderBy('tenant_id').orderBy('id').execute();
  return rows.map(
    (r): Record<string, unknown> => ({ ...r, id: Number(r.id), version: Number(r.version) }),
  );
}

/** Inserts order rows (status, total 1 and version 1 unless given) in one statement. */
export async function insertOrders(
  db: AnyDb,
  table: string,
  rows: readonly Record<string, unknown>[],
): Promise<void> {
  if (rows.length === 0) return;
  await db
    .insertInto(table)
    .values(rows.map((r) => ({ status: 's', total: 1, version: 1, ...r })))
    .execute();
}

/**
 * One database pair for a describe block (opened before its tests, closed after), with
 * the repair log table on the source and a fresh table name per call of `freshTable`.
 */
export function usePair(open: () => Promise<DbPair>, prefix: string) {
  let pair: DbPair | undefined;
  let n = 0;
  beforeAll(async () => {
    pair = await open();
    await createRepairLogTable(pair.source);
  }, 120_000);
  afterAll(async () => {
    await pair?.close();
    await stopServer();
  });
  const fx = {
    get dbs(): DbPair {
      if (pair === undefined) throw new Error('the pair opens in beforeAll');
      return pair;
    },
    /** A new table of `shape`, on both sides. */
    async freshTable(shape: TableShape = 'orders'): Promise<string> {
      const table = `${prefix}_${++n}`;
      await createShaped(fx.dbs.source, shape, table);
      await createShaped(fx.dbs.target, shape, table);
      return table;
    },
    /**
     * `dualWrite` over this pair's `table`, keyed by `id` with a `version` column unless
     * `options` say otherwise.
     */
    writer: (
      table: string,
      options: Omit<DualWriteOptions, 'source' | 'target' | 'table' | 'key' | 'version'> & {
        key?: DualWriteOptions['key'];
        /** `null`: no version column. */
        version?: string | null;
      },
    ): DualWriter => {
      const { version = 'version', ...rest } = options;
      return dualWrite({
        source: fx.dbs.source,
        target: fx.dbs.target,
        table,
        key: 'id',
        ...(version !== null && { version }),
        ...rest,
      });
    },
    /** Inserts one order row directly on one side (bypassing any dual writer). */
    put: (side: 'source' | 'target', table: string, id: number, status: string, version = 1) =>
      insertOrders(fx.dbs[side], table, [{ id, status, version }]),
  };
  return fx;
}
