// Two databases for validator tests: two PGlite instances, or two databases on one real
// PostgreSQL server (started once per test file).
import { PGlite } from '@electric-sql/pglite';
import { Kysely, PostgresDialect, sql } from 'kysely';
import { KyselyPGlite } from 'kysely-pglite';
import pg from 'pg';
import { type PostgresServer, startPostgres } from '../harness/index.js';

// biome-ignore lint/suspicious/noExplicitAny: tests address tables by name.
export type Db = Kysely<any>;

export interface DbPair {
  readonly source: Db;
  readonly target: Db;
  /** Connection URLs (PostgreSQL only), for child processes. */
  readonly urls?: { source: string; target: string };
  close(): Promise<void>;
}

export type BackendName = 'pglite' | 'postgres';

export async function pglitePair(): Promise<DbPair> {
  const open = async () => {
    const client = new PGlite();
    await client.waitReady;
    // biome-ignore lint/suspicious/noExplicitAny: see Db.
    return new Kysely<any>({ dialect: new KyselyPGlite(client).dialect });
  };
  const [source, target] = await Promise.all([open(), open()]);
  return {
    source,
    target,
    close: async () => {
      await Promise.all([source.destroy(), target.destroy()]);
    },
  };
}

let server: PostgresServer | undefined;
let serverDb: Db | undefined;
let databases = 0;

export function postgresDb(url: string): Db {
  return new Kysely({
    dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url, max: 4 }) }),
  });
}

/** Two fresh databases on the file's PostgreSQL server. */
export async function postgresPair(): Promise<DbPair> {
  server ??= await startPostgres();
  serverDb ??= postgresDb(server.url);
  const n = ++databases;
  const names = [`validator_src_${n}`, `validator_tgt_${n}`];
  for (const name of names) await sql`create database ${sql.id(name)}`.execute(serverDb);
  const base = server.url.replace(/\/postgres$/, '');
  const urls = { source: `${base}/${names[0]}`, target: `${base}/${names[1]}` };
  const source = postgresDb(urls.source);
  const target = postgresDb(urls.target);
  return {
    source,
    target,
    urls,
    close: async () => {
      await Promise.all([source.destroy(), target.destroy()]);
    },
  };
}

export async function stopServer(): Promise<void> {
  await serverDb?.destroy();
  serverDb = undefined;
  await server?.stop();
  server = undefined;
}

export const openPair = (backend: BackendName) =>
  backend === 'pglite' ? pglitePair() : postgresPair();

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
