// Cluster mode's databases (issue 17): one PostgreSQL database per role on the one server,
// `<db>_<role>`, created when missing (idempotent, also when two launchers race, also for
// a DATABASE_URL naming a database that does not exist yet), each migrated with only its
// role's tables. On a real server: the harness's, or SHOP_TEST_DATABASE_URL's.
import { sql } from 'kysely';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createRoleDatabases,
  roleDatabaseName,
  roleDatabaseUrl,
} from '../src/cluster/databases.js';
import { startInfra } from '../src/cluster/infra.js';
import { openDatabase } from '../src/db/database.js';
import { SHOP_ROLES, type ShopRole, tablesOf } from '../src/db/roles.js';
import { queryOn, type TestPostgres, testPostgres } from './pg-database.js';

let server: TestPostgres | undefined;
let serverUrl: string;
let seq = 0;

const query = <R extends pg.QueryResultRow>(text: string, values: unknown[] = []) =>
  queryOn<R>(serverUrl, text, values);

/** A base URL whose database name no other case (or run) uses; nothing created yet. */
function baseUrl(): string {
  const url = new URL(serverUrl);
  url.pathname = `/shopdb_${process.pid}_${++seq}`;
  return url.toString();
}

async function databasesLike(prefix: string): Promise<string[]> {
  const rows = await query<{ datname: string }>(
    'select datname from pg_database where datname like $1 order by 1',
    [`${prefix}%`],
  );
  return rows.map((r) => r.datname);
}

beforeAll(async () => {
  server = await testPostgres();
  serverUrl = server.url;
});
afterAll(async () => {
  const leftovers = await databasesLike(`shopdb_${process.pid}_`).catch(() => []);
  for (const name of leftovers) await query(`DROP DATABASE IF EXISTS "${name}"`).catch(() => {});
  await server?.stop();
});

describe('roleDatabaseUrl', () => {
  it('names the role database beside the base one, keeping server, user and parameters', () => {
    const base = 'postgres://shop:secret@db.example:5433/shop?sslmode=disable';
    expect(roleDatabaseUrl(base, 'orders')).toBe(
      'postgres://shop:secret@db.example:5433/shop_orders?sslmode=disable',
    );
    expect(roleDatabaseName(base, 'gateway')).toBe('shop_gateway');
    expect(roleDatabaseUrl('postgresql://127.0.0.1:5432', 'users')).toBe(
      'postgresql://127.0.0.1:5432/postgres_users',
    );
  });

  it('refuses an unknown role and a URL that is not PostgreSQL', () => {
    expect(() => roleDatabaseUrl('postgres://h/db', 'shipping' as ShopRole)).toThrow(
      /unknown shop role "shipping"/,
    );
    expect(() => roleDatabaseUrl('redis://h:6379', 'orders')).toThrow(/postgres:\/\//);
    expect(() => roleDatabaseUrl('not a url', 'orders')).toThrow(/not a URL/);
  });
});

describe('createRoleDatabases', () => {
  it('creates every role database once, and each holds only its role tables', async () => {
    const base = baseUrl();
    await query(`CREATE DATABASE "${new URL(base).pathname.slice(1)}"`);
    const first = await createRoleDatabases(base);
    expect(first.created).toEqual([...SHOP_ROLES]);
    const name = new URL(base).pathname.slice(1);
    expect(await databasesLike(`${name}_`)).toEqual(SHOP_ROLES.map((r) => `${name}_${r}`).sort());

    // Each role migrates alone in its empty database: no role needs another's tables.
    for (const role of SHOP_ROLES) {
      const url = first.urls[role]!;
      expect(url).toBe(roleDatabaseUrl(base, role));
      const database = await openDatabase({ kind: 'postgres', url }, { roles: [role] });
      try {
        const { rows } = await sql<{ name: string }>`
          select table_name as name from information_schema.tables
          where table_schema = 'public'`.execute(database.db);
        const tables = rows.map((r) => r.name).filter((t) => !t.startsWith('shop_migrations'));
        expect(tables.sort(), role).toEqual(tablesOf(role));
      } finally {
        await database.close();
      }
    }

    const again = await createRoleDatabases(base);
    expect(again.created).toEqual([]);
    expect(again.urls).toEqual(first.urls);
  });

  it('two launchers at once: every database exists once, neither fails', async () => {
    const base = baseUrl();
    const [a, b] = await Promise.all([
      createRoleDatabases(base, ['orders', 'inventory']),
      createRoleDatabases(base, ['inventory', 'orders']),
    ]);
    expect([...a.created, ...b.created].sort()).toEqual(['inventory', 'orders']);
    const name = new URL(base).pathname.slice(1);
    expect(await databasesLike(`${name}_`)).toEqual([`${name}_inventory`, `${name}_orders`]);
  });

  it('works for a DATABASE_URL whose own database does not exist', async () => {
    const base = baseUrl();
    const name = new URL(base).pathname.slice(1);
    const made = await createRoleDatabases(base, ['payments']);
    expect(made.created).toEqual(['payments']);
    expect(await databasesLike(name)).toEqual([`${name}_payments`]);
  });

  it('refuses an unknown role before touching the server', async () => {
    const base = baseUrl();
    await expect(createRoleDatabases(base, ['orders', 'shipping'])).rejects.toThrow(/shipping/);
    expect(await databasesLike(new URL(base).pathname.slice(1))).toEqual([]);
  });
});

describe('startInfra roleDatabases', () => {
  it('creates the role databases on a given DATABASE_URL and hands back their URLs', async () => {
    const base = baseUrl();
    const infra = await startInfra({
      // Given servers are used as they are (nothing is started); only PostgreSQL is used here.
      env: {
        PATH: process.env.PATH,
        ETCD_ENDPOINTS: 'http://127.0.0.1:1',
        REDIS_URL: 'redis://127.0.0.1:1',
        DATABASE_URL: base,
      },
      roleDatabases: ['orders', 'gateway'],
    });
    try {
      expect(infra.endpoints.databaseUrl).toBe(base);
      expect(infra.endpoints.roleDatabaseUrls).toEqual({
        orders: roleDatabaseUrl(base, 'orders'),
        gateway: roleDatabaseUrl(base, 'gateway'),
      });
      const name = new URL(base).pathname.slice(1);
      expect(await databasesLike(`${name}_`)).toEqual([`${name}_gateway`, `${name}_orders`]);
    } finally {
      await infra.close();
    }
  });
});
