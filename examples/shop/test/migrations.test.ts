// The per-role migrations (issue 17): each role creates exactly the tables it owns, in
// its own migration table; all of them together make the schema the one pre-split list
// made (paid_by included), plus the tables added since the split; a database made by that
// list is adopted, not re-created; the live-migration demo's target gets the orders role's
// own schema.
import { Kysely, PostgresDialect, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresPool } from '../../../test/harness/index.js';
import { openDatabase } from '../src/db/database.js';
import { migrate, migrationTableOf, ROLE_MIGRATIONS } from '../src/db/migrations.js';
import {
  NOTIFICATION_SMS_QUEUE_TABLE,
  normalizeRoles,
  SHOP_ROLES,
  SMS_QUEUE_TABLE,
  TABLE_OWNERS,
  tablesOf,
} from '../src/db/roles.js';
import { openMigrationTarget } from '../src/migration/target.js';
import { migrateLegacy } from './legacy-migrations.js';
import { queryOn, type TestPostgres, testPostgres } from './pg-database.js';

// On real PostgreSQL (PGlite's start costs seconds each): one server for the file, a
// fresh database per case (SHOP_TEST_DATABASE_URL's server when set).
let server: TestPostgres | undefined;
let serverUrl: string;
const open: Array<Kysely<unknown>> = [];
const created: string[] = [];
let seq = 0;

const onServer = (statement: string) => queryOn(serverUrl, statement);

/** The URL of a new, empty database. */
async function emptyDatabase(): Promise<string> {
  const name = `shop_mig_${process.pid}_${++seq}`;
  await onServer(`CREATE DATABASE ${name}`);
  created.push(name);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

async function emptyDb(): Promise<Kysely<unknown>> {
  const db = new Kysely<unknown>({
    dialect: new PostgresDialect({ pool: postgresPool(await emptyDatabase()) }),
  });
  open.push(db);
  return db;
}

beforeAll(async () => {
  server = await testPostgres();
  serverUrl = server.url;
});
afterAll(async () => {
  await Promise.all(open.map((db) => db.destroy()));
  for (const name of created) await onServer(`DROP DATABASE IF EXISTS ${name}`).catch(() => {});
  await server?.stop();
});

/** Migration tables (the pre-split list's lock table had Kysely's default name). */
const isBookkeeping = (table: string) =>
  table.startsWith('shop_migrations') || table === 'kysely_migration_lock';

async function tableNames(db: Kysely<unknown>): Promise<string[]> {
  const { rows } = await sql<{ name: string }>`
    select table_name as name from information_schema.tables
    where table_schema = 'public' order by 1`.execute(db);
  return rows.map((r) => r.name).filter((t) => !isBookkeeping(t));
}

/** Columns, constraints and indexes of the shop's tables, by name. */
async function schemaOf(db: Kysely<unknown>) {
  const columns = await sql<Record<string, unknown>>`
    select table_name, column_name, ordinal_position, data_type, is_nullable, column_default
    from information_schema.columns where table_schema = 'public'
    order by table_name, ordinal_position`.execute(db);
  const constraints = await sql<Record<string, unknown> & { tbl: string }>`
    select conrelid::regclass::text as tbl, conname, contype, pg_get_constraintdef(oid) as def
    from pg_constraint where connamespace = 'public'::regnamespace
    order by 1, 2`.execute(db);
  const indexes = await sql<Record<string, unknown> & { tablename: string }>`
    select tablename, indexname, indexdef from pg_indexes where schemaname = 'public'
    order by 1, 2`.execute(db);
  return {
    columns: columns.rows.filter((r) => !isBookkeeping(String(r.table_name))),
    constraints: constraints.rows.filter((r) => !isBookkeeping(r.tbl)),
    indexes: indexes.rows.filter((r) => !isBookkeeping(r.tablename)),
  };
}

/** Tables the per-role migrations added after the split (the pre-split list never made them). */
const SINCE_SPLIT: readonly string[] = [NOTIFICATION_SMS_QUEUE_TABLE];

/** `schema` without the tables added since the split: what the pre-split list made. */
function preSplitPart(schema: Awaited<ReturnType<typeof schemaOf>>) {
  const old = (table: unknown) => !SINCE_SPLIT.includes(String(table));
  return {
    columns: schema.columns.filter((c) => old(c.table_name)),
    constraints: schema.constraints.filter((c) => old(c.tbl)),
    indexes: schema.indexes.filter((i) => old(i.tablename)),
  };
}

async function recorded(db: Kysely<unknown>, role: (typeof SHOP_ROLES)[number]) {
  const { rows } = await sql<{ name: string }>`
    select name from ${sql.table(migrationTableOf(role))} order by name`.execute(db);
  return rows.map((r) => r.name);
}

const allNames = () =>
  SHOP_ROLES.flatMap((role) => Object.keys(ROLE_MIGRATIONS[role]).map((n) => `${role}/${n}`));

describe('per-role migrations', () => {
  let legacySchema: Awaited<ReturnType<typeof schemaOf>>;
  beforeAll(async () => {
    const legacy = await emptyDb();
    await migrateLegacy(legacy);
    legacySchema = await schemaOf(legacy);
  });

  it('the owner list names every table the pre-split list made, and the ones added since', async () => {
    const tables = [...new Set(legacySchema.columns.map((c) => String(c.table_name)))].sort();
    expect(Object.keys(TABLE_OWNERS).sort()).toEqual([...tables, ...SINCE_SPLIT].sort());
  });

  it('each role creates exactly its own tables; together they make the pre-split schema and the new tables', async () => {
    const db = await emptyDb();
    let before: string[] = [];
    for (const role of SHOP_ROLES) {
      const ran = await migrate(db, [role]);
      expect(ran).toEqual(Object.keys(ROLE_MIGRATIONS[role]).map((n) => `${role}/${n}`));
      const after = await tableNames(db);
      expect(after.filter((t) => !before.includes(t))).toEqual(tablesOf(role));
      expect(await recorded(db, role)).toEqual(Object.keys(ROLE_MIGRATIONS[role]));
      before = after;
    }
    const schema = await schemaOf(db);
    expect(preSplitPart(schema)).toEqual(legacySchema);
    // The notifications role's SMS queue is girder/sms's table, as the gateway's is.
    const columnsOf = (table: string) =>
      schema.columns
        .filter((c) => c.table_name === table)
        .map(({ table_name: _, ...column }) => column);
    expect(columnsOf(NOTIFICATION_SMS_QUEUE_TABLE)).toEqual(columnsOf(SMS_QUEUE_TABLE));
    expect(columnsOf(SMS_QUEUE_TABLE).length).toBeGreaterThan(0);
    // Nothing left to run, for one role or all.
    expect(await migrate(db)).toEqual([]);
    expect(await migrate(db, ['orders'])).toEqual([]);
  });

  it('openDatabase migrates every role by default, or only the roles given', async () => {
    const all = await openDatabase({ kind: 'postgres', url: await emptyDatabase() });
    try {
      expect(preSplitPart(await schemaOf(all.db as unknown as Kysely<unknown>))).toEqual(
        legacySchema,
      );
    } finally {
      await all.close();
    }
    const some = await openDatabase(
      { kind: 'postgres', url: await emptyDatabase() },
      { roles: ['payments', 'orders'] },
    );
    try {
      expect(await tableNames(some.db as unknown as Kysely<unknown>)).toEqual(
        [...tablesOf('orders'), ...tablesOf('payments')].sort(),
      );
    } finally {
      await some.close();
    }
  });

  it('an unknown role is refused, naming it, before anything runs', async () => {
    await expect(
      openDatabase({ kind: 'pglite' }, { roles: ['orders', 'shipping'] }),
    ).rejects.toThrow(/unknown shop role "shipping"/);
    const db = await emptyDb();
    await expect(migrate(db, ['orders', 'shipping'])).rejects.toThrow(/shipping/);
    expect(await tableNames(db)).toEqual([]);
    expect(normalizeRoles(['gateway', 'users', 'gateway'])).toEqual(['users', 'gateway']);
  });

  it('a failing migration is named with its role', async () => {
    const db = await emptyDb();
    await sql`create table orders (x int)`.execute(db);
    await expect(migrate(db, ['orders'])).rejects.toThrow(
      /database migration failed \(orders\/0001_orders\): .*orders/,
    );
  });
});

describe('a database made by the pre-split list', () => {
  it('is adopted: every migration recorded as done, nothing re-created, its rows kept', async () => {
    const db = await emptyDb();
    await migrateLegacy(db);
    const before = await schemaOf(db);
    await sql`insert into users (id, email, password_hash) values ('u1', 'a@b.c', 'h')`.execute(db);
    await sql`insert into product_views (product_id, views) values (7, 3)`.execute(db);

    expect(await migrate(db)).toEqual(allNames());
    // Nothing re-created; only the tables added since the split are new.
    expect(preSplitPart(await schemaOf(db))).toEqual(before);
    expect(await tableNames(db)).toEqual(expect.arrayContaining([...SINCE_SPLIT]));
    for (const role of SHOP_ROLES) {
      expect(await recorded(db, role)).toEqual(Object.keys(ROLE_MIGRATIONS[role]));
    }
    const users = await sql<{ email: string }>`select email from users`.execute(db);
    expect(users.rows).toEqual([{ email: 'a@b.c' }]);
    const views = await sql<{ views: number }>`select views from product_views`.execute(db);
    expect(views.rows).toEqual([{ views: 3 }]);
    expect(await migrate(db)).toEqual([]);
  });

  it('made before paid_by: adopted up to there, then orders gets paid_by', async () => {
    const full = await emptyDb();
    await migrateLegacy(full);
    const db = await emptyDb();
    await migrateLegacy(db, '0008_messaging');
    await sql`insert into orders (order_no, user_id, request_id, status, total_cents, expires_at, created_at, updated_at)
      values ('o1', 'u1', 'r1', 'paid', 100, now(), now(), now())`.execute(db);

    await migrate(db);
    expect(preSplitPart(await schemaOf(db))).toEqual(await schemaOf(full));
    const order = await sql<{ paid_by: string | null }>`select paid_by from orders`.execute(db);
    expect(order.rows).toEqual([{ paid_by: null }]);
  });

  it('adopted per role: a cluster role migrates only its own tables there', async () => {
    const db = await emptyDb();
    await migrateLegacy(db);
    // 0001 adopted (recorded without running); 0002 is newer than the pre-split list.
    expect(await migrate(db, ['notifications'])).toEqual([
      'notifications/0001_notifications',
      'notifications/0002_notification_sms_queue',
    ]);
    expect(await recorded(db, 'notifications')).toEqual([
      '0001_notifications',
      '0002_notification_sms_queue',
    ]);
    expect(await tableNames(db)).toContain(NOTIFICATION_SMS_QUEUE_TABLE);
  });
});

describe('the live-migration target', () => {
  it("gets the orders role's migrations: the same orders table as the main database", async () => {
    const target = await openMigrationTarget({ kind: 'postgres', url: await emptyDatabase() });
    try {
      const main = await emptyDb();
      await migrate(main);
      const ordersOf = async (db: Kysely<unknown>) => {
        const s = await schemaOf(db);
        return {
          columns: s.columns.filter((c) => c.table_name === 'orders'),
          constraints: s.constraints.filter((c) => c.tbl === 'orders'),
          indexes: s.indexes.filter((i) => i.tablename === 'orders'),
        };
      };
      const onTarget = await ordersOf(target.db as unknown as Kysely<unknown>);
      expect(onTarget.columns.map((c) => c.column_name)).toContain('paid_by');
      expect(onTarget).toEqual(await ordersOf(main));
    } finally {
      await target.close();
    }
  });
});
