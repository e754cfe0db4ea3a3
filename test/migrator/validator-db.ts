// Two databases for validator tests: two PGlite instances, or two databases on one real
// PostgreSQL server (started once per test file).
import { PGlite } from '@electric-sql/pglite';
import { Kysely, PostgresDialect, sql } from 'kysely';
import { KyselyPGlite } from 'kysely-pglite';
import type { ValidatorOptions } from '../../src/migrator/index.js';
import { type PostgresServer, postgresPool, startPostgres } from '../harness/index.js';

// biome-ignore lint/suspicious/noExplicitAny: tests address tables by name.
export type Db = Kysely<any>;

export interface DbPair {
  readonly source: Db;
  readonly target: Db;
  /** Table on each side (PGlite: one database, two schemas; PostgreSQL: two databases). */
  readonly sourceTable: string;
  readonly targetTable: string;
  /** Connection URLs (PostgreSQL only), for child processes. */
  readonly urls?: { source: string; target: string };
}

export type BackendName = 'pglite' | 'postgres';

/** A backend for one test file: hands out fresh table pairs, closed in `afterAll`. */
export interface Backend {
  readonly name: BackendName;
  pair(): Promise<DbPair>;
  close(): Promise<void>;
}

let pairs = 0;

/**
 * One PGlite per file (start-up of its WebAssembly takes seconds on a loaded machine);
 * each pair is two schemas in it.
 */
export async function pgliteBackend(): Promise<Backend> {
  const client = new PGlite();
  await client.waitReady;
  // biome-ignore lint/suspicious/noExplicitAny: see Db.
  const db = new Kysely<any>({ dialect: new KyselyPGlite(client).dialect });
  return {
    name: 'pglite',
    async pair() {
      const n = ++pairs;
      await sql`create schema ${sql.id(`src_${n}`)}`.execute(db);
      await sql`create schema ${sql.id(`tgt_${n}`)}`.execute(db);
      return {
        source: db,
        target: db,
        sourceTable: `src_${n}.items`,
        targetTable: `tgt_${n}.items`,
      };
    },
    close: () => db.destroy(),
  };
}

export function postgresDb(url: string): Db {
  return new Kysely({ dialect: new PostgresDialect({ pool: postgresPool(url) }) });
}

/** One PostgreSQL server per file; each pair is two databases on it. */
export async function postgresBackend(): Promise<Backend> {
  const server: PostgresServer = await startPostgres();
  const admin = postgresDb(server.url);
  const opened: Db[] = [];
  return {
    name: 'postgres',
    async pair() {
      const n = ++pairs;
      const names = [`validator_src_${n}`, `validator_tgt_${n}`] as const;
      for (const name of names) await sql`create database ${sql.id(name)}`.execute(admin);
      const base = server.url.replace(/\/postgres$/, '');
      const urls = { source: `${base}/${names[0]}`, target: `${base}/${names[1]}` };
      const source = postgresDb(urls.source);
      const target = postgresDb(urls.target);
      opened.push(source, target);
      return { source, target, sourceTable: 'items', targetTable: 'items', urls };
    },
    async close() {
      await Promise.all([admin, ...opened].map((db) => db.destroy()));
      await server.stop();
    },
  };
}

export const openBackend = (name: BackendName) =>
  name === 'pglite' ? pgliteBackend() : postgresBackend();

/** The table every validator test uses: one column of each supported type. */
export async function createItems(db: Db, table = 'items'): Promise<void> {
  await sql`create table ${sql.table(table)} (
    id integer primary key,
    name text,
    qty integer,
    price numeric(12, 2),
    at timestamptz,
    flag boolean,
    doc jsonb,
    updated_at bigint not null default 0
  )`.execute(db);
}

export const ITEM_COLUMNS = ['name', 'qty', 'price', 'at', 'flag', 'doc', 'updated_at'];

/** Insert `n` rows (ids 1..n) with deterministic values, in one INSERT ... SELECT. */
export async function fillItems(db: Db, n: number, table = 'items', from = 1): Promise<void> {
  await sql`insert into ${sql.table(table)} (id, name, qty, price, at, flag, doc, updated_at)
    select i, 'item ' || i, i % 100, (i * 1.25)::numeric(12, 2),
      timestamptz '2026-01-01 00:00:00+00' + i * interval '1 minute',
      i % 2 = 0, jsonb_build_object('i', i, 'tags', jsonb_build_array('a', 'b')), 1000
    from generate_series(${from}::int, ${from + n - 1}::int) as i`.execute(db);
}

/** A pair of `items` tables on `backend` holding the same `rows` rows (both validator suites seed this way). */
export async function itemsPair(backend: Backend, rows: number): Promise<DbPair> {
  const pair = await backend.pair();
  await createItems(pair.source, pair.sourceTable);
  await createItems(pair.target, pair.targetTable);
  await fillItems(pair.source, rows, pair.sourceTable);
  await fillItems(pair.target, rows, pair.targetTable);
  return pair;
}

/** Validator options over an items pair: every column, chunks of 100, then `extra`. */
export const itemOptions = (
  pair: DbPair,
  extra: Partial<ValidatorOptions> = {},
): ValidatorOptions => ({
  source: pair.source,
  target: pair.target,
  table: pair.sourceTable,
  targetTable: pair.targetTable,
  key: 'id',
  columns: ITEM_COLUMNS,
  chunkSize: 100,
  ...extra,
});
