// Source/target database pairs for the migrator tests: two PGlite instances in process, or
// two databases of one real PostgreSQL server (a dedicated server per test file).
import { PGlite } from '@electric-sql/pglite';
import { Kysely, PostgresDialect, sql } from 'kysely';
import { KyselyPGlite } from 'kysely-pglite';
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
