// The second database of the live-migration demo: a PGlite of its own (in memory, or in
// a directory next to the main one) or a second PostgreSQL database. It gets the orders
// role's own migrations (db/migrations/orders.ts), so its `orders` table has the main
// table's columns, key and constraints by construction; only `orders` moves there (its
// `order_items` stays empty).
import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, PostgresDialect, sql } from 'kysely';
import { migrate } from '../db/migrations.js';
import { resilientPgPool } from '../db/pg-pool.js';
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

/** Opens the target and brings it to the orders role's schema (its migrations). */
export async function openMigrationTarget(config: MigrationTargetConfig): Promise<MigrationTarget> {
  let db: Db;
  let description: string;
  if (config.kind === 'postgres') {
    const pool = resilientPgPool(config.url, 5);
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
    // A target made before the per-role migrations (an `orders` table and no
    // `shop_migrations_orders`) fails here with "relation orders already exists".
    await migrate(db as unknown as Kysely<unknown>, ['orders']);
  } catch (err) {
    await db.destroy().catch(() => {});
    throw err;
  }
  return { db, description, close: () => db.destroy() };
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
