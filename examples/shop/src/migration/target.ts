// The second database of the live-migration demo: a PGlite of its own (in memory, or in
// a directory next to the main one) or a second PostgreSQL database. It holds only the
// `orders` table, created here with the main table's columns, key and constraints.
import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { pgliteDialect } from '../db/pglite-dialect.js';
import type { Database, Db } from '../db/schema.js';

/** Where the `orders` table moves to. */
export type MigrationTargetConfig =
  | { kind: 'pglite'; dataDir?: string | undefined }
  | { kind: 'postgres'; url: string };

/** An open target database. */
export interface MigrationTarget {
  readonly db: Db;
  /** For the ops page: `PGlite (in memory)`, `PGlite (<dir>)`, `PostgreSQL (<host>/<db>)`. */
  readonly description: string;
  close(): Promise<void>;
}

/** Opens the target and creates its `orders` table if missing. */
export async function openMigrationTarget(config: MigrationTargetConfig): Promise<MigrationTarget> {
  let db: Db;
  let description: string;
  if (config.kind === 'postgres') {
    const pool = new pg.Pool({ connectionString: config.url, max: 5 });
    db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    const u = new URL(config.url);
    description = `PostgreSQL (${u.hostname}${u.port ? `:${u.port}` : ''}${u.pathname})`;
  } else {
    if (config.dataDir !== undefined) mkdirSync(config.dataDir, { recursive: true });
    const client = await PGlite.create(
      config.dataDir !== undefined ? { dataDir: config.dataDir } : {},
    );
    db = new Kysely<Database>({ dialect: pgliteDialect(client) });
    description =
      config.dataDir === undefined ? 'PGlite (in memory)' : `PGlite (${config.dataDir})`;
  }
  try {
    await createOrdersTable(db);
  } catch (err) {
    await db.destroy().catch(() => {});
    throw err;
  }
  return { db, description, close: () => db.destroy() };
}

/** The main database's `orders` table, on the target: same columns, key, unique request id. */
export async function createOrdersTable(db: Db): Promise<void> {
  const schema = (db as unknown as Kysely<unknown>).schema;
  await schema
    .createTable('orders')
    .ifNotExists()
    .addColumn('order_no', 'text', (c) => c.primaryKey())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('request_id', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('total_cents', 'integer', (c) => c.notNull())
    .addColumn('cancel_reason', 'text')
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
    .addColumn('paid_at', 'timestamptz')
    .addColumn('cancelled_at', 'timestamptz')
    .addColumn('paid_by', 'text')
    .addUniqueConstraint('orders_request_uq', ['user_id', 'request_id'])
    .execute();
  await schema
    .createIndex('orders_user_idx')
    .ifNotExists()
    .on('orders')
    .columns(['user_id', 'created_at'])
    .execute();
  await schema
    .createIndex('orders_pending_idx')
    .ifNotExists()
    .on('orders')
    .columns(['status', 'expires_at'])
    .execute();
  // A target created before the main table's migration 0009 (`paid_by`) gets it too.
  await sql`alter table orders add column if not exists paid_by text`.execute(db);
}

/**
 * A foreign key cannot point into another database: once the target is in charge, new
 * orders have no row in the main `orders` table, so `order_items.order_no` loses its
 * reference to it. The demo drops it (idempotent); the application keeps the rule
 * (items are written in the transaction that creates their order).
 */
export async function dropOrderItemsForeignKey(main: Db): Promise<void> {
  await sql`alter table order_items drop constraint if exists order_items_order_no_fkey`.execute(
    main,
  );
}
