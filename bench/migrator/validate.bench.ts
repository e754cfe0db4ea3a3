import { validator } from 'girder/migrator';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { type PostgresServer, startPostgres } from '../../test/harness/postgres.js';
import type { BenchSuite, Runner } from '../harness.js';

/**
 * Full validation of a table copied to a second database on the same PostgreSQL server
 * (one op = one complete pass over the table, both directions, no difference present):
 * - girder `validator`: keyset chunks of 10,000 rows, a count and checksum per chunk
 *   computed by each database, no row crossing the wire;
 * - keyset row-by-row: pages of 1,000 rows by key from the source, the same key range
 *   from the target, every row compared in the process (both tables cross the wire);
 * - the notes' OFFSET row-by-row: one source row at a time by `LIMIT 1 OFFSET k`, looked
 *   up on the target by id, then the reverse pass over the target. Its cost grows with
 *   the square of the table, so it runs on small prefix tables only; docs/migrator.md
 *   extrapolates it to 1,000,000 rows.
 * Uses DATABASE_URL when set (it creates two databases there), otherwise starts a
 * throwaway PostgreSQL. `--quick` (the CI smoke run) uses 20,000 rows; the sizes can be
 * set with MIGRATOR_BENCH_ROWS and MIGRATOR_BENCH_PREFIXES (comma-separated), e.g. the
 * 1,000,000-row figures of docs/migrator.md were taken with
 * `MIGRATOR_BENCH_ROWS=1000000 MIGRATOR_BENCH_PREFIXES=2000,4000 npm run bench -- --quick --filter migrator`
 * (3 rounds: one pass of the row-by-row peer over 1,000,000 rows takes minutes).
 */
const QUICK = process.argv.includes('--quick');
const ROWS = Number(process.env.MIGRATOR_BENCH_ROWS ?? (QUICK ? 20_000 : 1_000_000));
const PREFIXES = (process.env.MIGRATOR_BENCH_PREFIXES ?? (QUICK ? '1000' : '2000,4000'))
  .split(',')
  .map(Number);
const COLUMNS = ['name', 'qty', 'price', 'at', 'flag', 'doc', 'updated_at'];

let server: PostgresServer | undefined;
let admin: pg.Pool;
let pools: { source: pg.Pool; target: pg.Pool };
let dbs: { source: Kysely<unknown>; target: Kysely<unknown> };

async function fill(pool: pg.Pool, table: string, rows: number) {
  await pool.query(`DROP TABLE IF EXISTS ${table}`);
  await pool.query(`CREATE TABLE ${table} (id integer PRIMARY KEY, name text, qty integer,
    price numeric(12, 2), at timestamptz, flag boolean, doc jsonb, updated_at bigint NOT NULL)`);
  await pool.query(`INSERT INTO ${table}
    SELECT i, 'item ' || i, i % 100, (i * 1.25)::numeric(12, 2),
      timestamptz '2026-01-01 00:00:00+00' + i * interval '1 second', i % 2 = 0,
      jsonb_build_object('i', i, 'tags', jsonb_build_array('a', 'b')), 1000
    FROM generate_series(1, ${rows}) AS i`);
  await pool.query(`VACUUM ANALYZE ${table}`);
}

async function setup() {
  let url = process.env.DATABASE_URL?.trim();
  if (!url) {
    server = await startPostgres();
    url = server.url;
  }
  admin = new pg.Pool({ connectionString: url, max: 1 });
  const urlOf = (name: string) => {
    const u = new URL(url);
    u.pathname = `/${name}`;
    return u.toString();
  };
  for (const name of ['girder_bench_src', 'girder_bench_tgt']) {
    await admin.query(`DROP DATABASE IF EXISTS ${name}`);
    await admin.query(`CREATE DATABASE ${name}`);
  }
  pools = {
    source: new pg.Pool({ connectionString: urlOf('girder_bench_src'), max: 4 }),
    target: new pg.Pool({ connectionString: urlOf('girder_bench_tgt'), max: 4 }),
  };
  // The server stops right after the pools end: an idle client can still hear "terminating
  // connection" then, which pg emits on its pool; unheard, it would crash the bench run.
  for (const pool of [admin, pools.source, pools.target]) pool.on('error', () => {});
  for (const pool of [pools.source, pools.target]) {
    await fill(pool, 'items', ROWS);
    for (const n of PREFIXES) await fill(pool, `items_${n}`, n);
  }
  dbs = {
    source: new Kysely({ dialect: new PostgresDialect({ pool: pools.source }) }),
    target: new Kysely({ dialect: new PostgresDialect({ pool: pools.target }) }),
  };
  await sql`select 1`.execute(dbs.source);
  return async () => {
    await dbs.source.destroy();
    await dbs.target.destroy();
    await admin.end();
    await server?.stop();
  };
}

const passes =
  (pass: (table: string) => Promise<number>, table: string): Runner =>
  async (n) => {
    for (let i = 0; i < n; i++) {
      const differences = await pass(table);
      if (differences !== 0) throw new Error(`bench tables differ (${differences} rows)`);
    }
  };

async function girder(table: string): Promise<number> {
  const check = validator({
    source: dbs.source,
    target: dbs.target,
    table,
    key: 'id',
    columns: COLUMNS,
    chunkSize: 10_000,
    estimate: 'none',
  });
  return (await check.start().result).differences;
}

const rowText = (row: Record<string, unknown>) => JSON.stringify(row);

async function keysetRowByRow(table: string): Promise<number> {
  let differences = 0;
  let last = 0;
  for (;;) {
    const page = await pools.source.query(
      `SELECT * FROM ${table} WHERE id > $1 ORDER BY id LIMIT 1000`,
      [last],
    );
    const end = page.rows.length === 1000 ? page.rows.at(-1).id : null;
    const other = await pools.target.query(
      end === null
        ? `SELECT * FROM ${table} WHERE id > $1 ORDER BY id`
        : `SELECT * FROM ${table} WHERE id > $1 AND id <= $2 ORDER BY id`,
      end === null ? [last] : [last, end],
    );
    const targetById = new Map(other.rows.map((r) => [r.id, rowText(r)]));
    for (const row of page.rows) {
      const copy = targetById.get(row.id);
      if (copy !== rowText(row)) differences++;
      targetById.delete(row.id);
    }
    differences += targetById.size;
    if (end === null) return differences;
    last = end;
  }
}

async function offsetRowByRow(table: string): Promise<number> {
  let differences = 0;
  for (let offset = 0; ; offset++) {
    const { rows } = await pools.source.query(
      `SELECT * FROM ${table} ORDER BY id LIMIT 1 OFFSET $1`,
      [offset],
    );
    if (rows.length === 0) break;
    const copy = await pools.target.query(`SELECT * FROM ${table} WHERE id = $1`, [rows[0].id]);
    if (copy.rows.length === 0 || rowText(copy.rows[0]) !== rowText(rows[0])) differences++;
  }
  for (let offset = 0; ; offset++) {
    const { rows } = await pools.target.query(
      `SELECT id FROM ${table} ORDER BY id LIMIT 1 OFFSET $1`,
      [offset],
    );
    if (rows.length === 0) break;
    const copy = await pools.source.query(`SELECT id FROM ${table} WHERE id = $1`, [rows[0].id]);
    if (copy.rows.length === 0) differences++;
  }
  return differences;
}

let ready: Promise<() => Promise<void>> | undefined;
// One server for the suite: set up by the first case, torn down after the last.
const shared = (last: boolean) => async () => {
  ready ??= setup();
  const teardown = await ready;
  return last ? teardown : undefined;
};

const rows = (n: number) => n.toLocaleString('en-US');

export const suite: BenchSuite = {
  name: 'migrator validate (PostgreSQL)',
  cases: [
    {
      name: `full pass, ${rows(ROWS)} rows (passes/s)`,
      setup: shared(false),
      girder: passes(girder, 'items'),
      peers: [{ name: 'keyset row-by-row', run: passes(keysetRowByRow, 'items') }],
    },
    ...PREFIXES.map((n, i) => ({
      name: `full pass, ${rows(n)} rows (passes/s)`,
      setup: shared(i === PREFIXES.length - 1),
      girder: passes(girder, `items_${n}`),
      peers: [
        { name: 'keyset row-by-row', run: passes(keysetRowByRow, `items_${n}`) },
        { name: "notes' OFFSET row-by-row", run: passes(offsetRowByRow, `items_${n}`) },
      ],
    })),
  ],
};
