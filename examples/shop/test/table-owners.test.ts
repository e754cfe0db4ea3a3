// Convention (issue 17): no role reads or writes another role's tables. Every source file
// of the shop belongs to one role (by its folder, or named below with the reason) or to
// none; the tables its Kysely calls, SQL templates and girder `table:` options name must
// be its role's (db/roles.ts TABLE_OWNERS), and a file of no role names none.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  NOTIFICATION_SMS_QUEUE_TABLE,
  NOTIFIED_TABLE,
  OUTBOX_TABLE,
  SALES_COUNTED_TABLE,
  SHOP_ROLES,
  type ShopRole,
  SMS_QUEUE_TABLE,
  TABLE_OWNERS,
} from '../src/db/roles.js';

const SRC = fileURLToPath(new URL('../src/', import.meta.url));

/** Folders of src/ and the role whose code they hold. */
const FOLDER_ROLES: Record<string, ShopRole> = {
  users: 'users',
  catalog: 'catalog',
  inventory: 'inventory',
  orders: 'orders',
  payments: 'payments',
  notifications: 'notifications',
  // The live-migration demo moves the orders service's `orders` table.
  migration: 'orders',
  // The BFF: HTTP API and web UI, SMS codes, the mock payment provider, the ops page.
  http: 'gateway',
  sms: 'gateway',
  'mock-provider': 'gateway',
  observe: 'gateway',
};

/** Files whose role is not their folder's. */
const FILE_ROLES: Record<string, ShopRole> = {
  // Product-page views are counted by the gateway where the page is served.
  'catalog/views.ts': 'gateway',
  'compose/popular.ts': 'gateway',
  'compose/popular-sales.ts': 'gateway',
  'compose/sms.ts': 'gateway',
  // The notifications role's SMS stack (a cluster's), over that role's queue table.
  'compose/notification-sms.ts': 'notifications',
  // The outbox relay runs with the payments service (whose transactions write the rows).
  'compose/messaging.ts': 'payments',
};

/** Files that name tables without querying them. */
const EXEMPT: Record<string, string> = {
  'db/roles.ts': 'the owner list itself',
  'db/schema.ts': 'the table types',
};

/** The girder table-name constants, as the source spells them. */
const CONSTANTS: Record<string, string> = {
  SMS_QUEUE_TABLE,
  OUTBOX_TABLE,
  NOTIFIED_TABLE,
  NOTIFICATION_SMS_QUEUE_TABLE,
  SALES_COUNTED_TABLE,
};

const KYSELY_CALL =
  /\.(?:selectFrom|insertInto|updateTable|deleteFrom|mergeInto|replaceInto|innerJoin|leftJoin|rightJoin|fullJoin|createTable|alterTable|dropTable)\(\s*['"`]([A-Za-z_][\w]*)/g;
const INDEX_ON = /\.on\(\s*'([A-Za-z_]\w*)'\s*\)/g;
const REFERENCES = /\.references\(\s*'([A-Za-z_]\w*)\./g;
const TABLE_OPTION = /\btable:\s*(?:'([A-Za-z_]\w*)'|([A-Z][A-Z_]*_TABLE)\b)/g;
const SQL_TEMPLATE = /\bsql(?:<[^`]*?>)?`([^`]*)`/g;
const SQL_TABLE =
  /\b(?:from|join|into|update|table(?:\s+if\s+(?:not\s+)?exists)?)\s+(?:only\s+)?([A-Za-z_]\w*)/gi;

/** The tables a source text names in queries, DDL and girder `table:` options. */
function tablesNamed(source: string): string[] {
  const found = new Set<string>();
  for (const pattern of [KYSELY_CALL, INDEX_ON, REFERENCES]) {
    for (const m of source.matchAll(pattern)) found.add(m[1]!);
  }
  for (const m of source.matchAll(TABLE_OPTION)) {
    found.add(m[1] ?? CONSTANTS[m[2]!] ?? `<unknown constant ${m[2]}>`);
  }
  for (const template of source.matchAll(SQL_TEMPLATE)) {
    for (const m of template[1]!.matchAll(SQL_TABLE)) found.add(m[1]!.toLowerCase());
  }
  return [...found].sort();
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') ? [relative(SRC, path)] : [];
  });
}

/** The role of a file of src/, or undefined for code of no role (composition, cluster, rpc). */
function roleOf(file: string): ShopRole | undefined {
  if (file in FILE_ROLES) return FILE_ROLES[file];
  const migrationOf = /^db\/migrations\/(\w+)\.ts$/.exec(file)?.[1];
  if (migrationOf !== undefined && (SHOP_ROLES as readonly string[]).includes(migrationOf)) {
    return migrationOf as ShopRole;
  }
  const folder = file.split('/')[0]!;
  return FOLDER_ROLES[folder];
}

const owners = TABLE_OWNERS as Record<string, ShopRole>;
const files = sourceFiles(SRC).sort();
const named = new Map(files.map((f) => [f, tablesNamed(readFileSync(join(SRC, f), 'utf8'))]));

describe('table owners', () => {
  it.each(files.filter((f) => !(f in EXEMPT)))('%s touches only its role’s tables', (file) => {
    const role = roleOf(file);
    const foreign = named
      .get(file)!
      .filter((table) => role === undefined || owners[table] !== role)
      .map((table) => `${table} (${owners[table] ?? 'not in TABLE_OWNERS'})`);
    expect(foreign, `${file} is ${role ?? 'of no role'}`).toEqual([]);
  });

  it('sees the tables every role queries (the scan is not blind)', () => {
    const seen = new Map<ShopRole, Set<string>>();
    for (const [file, tables] of named) {
      const role = roleOf(file);
      if (role === undefined) continue;
      const set = seen.get(role) ?? new Set();
      for (const t of tables) set.add(t);
      seen.set(role, set);
    }
    for (const table of Object.keys(owners)) {
      expect(seen.get(owners[table]!)?.has(table), `${table} seen in ${owners[table]}`).toBe(true);
    }
  });

  it('finds the tables of Kysely calls, SQL templates and table options', () => {
    const joined = `db.selectFrom('order_items as i').innerJoin('orders as o', 'o.order_no', 'i.order_no')`;
    expect(tablesNamed(joined)).toEqual(['order_items', 'orders']);
    expect(
      tablesNamed('await sql`alter table orders add column if not exists paid_by text`'),
    ).toEqual(['orders']);
    expect(
      tablesNamed('sql<{ n: number }>`select count(*) from payments p join outbox o on true`'),
    ).toEqual(['outbox', 'payments']);
    expect(tablesNamed("createIndex('x').on('products').columns(['id'])")).toEqual(['products']);
    expect(tablesNamed("c.references('categories.id')")).toEqual(['categories']);
    expect(tablesNamed('sqlIdempotencyStore(db, { table: NOTIFIED_TABLE, clock })')).toEqual([
      'notified_orders',
    ]);
    expect(tablesNamed("events.on('failed', () => {}); const group = 'orders';")).toEqual([]);
  });

  it('gives every role folder a role and every role code', () => {
    const roles = new Set(files.map(roleOf));
    for (const role of SHOP_ROLES) expect(roles.has(role), role).toBe(true);
  });
});
