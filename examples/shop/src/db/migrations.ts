// Schema changes, run by Kysely's Migrator at startup. Each role has its own list and its
// own migration table (`shop_migrations_<role>`), so a role's tables can live in a
// database of their own (cluster mode) or beside the others' (one process).
//
// A database made by the pre-split list (one table `shop_migrations` for every role) is
// adopted: a role migration whose `legacy` migrations all ran there is recorded as done
// without running; the rest (added since) run as usual.
import { type Kysely, type Migration, type MigrationProvider, Migrator, sql } from 'kysely';
import { catalogMigrations } from './migrations/catalog.js';
import { gatewayMigrations } from './migrations/gateway.js';
import { inventoryMigrations } from './migrations/inventory.js';
import { notificationsMigrations } from './migrations/notifications.js';
import { ordersMigrations } from './migrations/orders.js';
import { paymentsMigrations } from './migrations/payments.js';
import type { RoleMigrations } from './migrations/types.js';
import { usersMigrations } from './migrations/users.js';
import { normalizeRoles, SHOP_ROLES, type ShopRole } from './roles.js';

export type { RoleMigration, RoleMigrations } from './migrations/types.js';
// The table names used to live here; callers still import them from this module.
export {
  NOTIFICATION_SMS_QUEUE_TABLE,
  NOTIFIED_TABLE,
  OUTBOX_TABLE,
  SALES_COUNTED_TABLE,
  SMS_QUEUE_TABLE,
} from './roles.js';

/** Each role's migrations. */
export const ROLE_MIGRATIONS: Readonly<Record<ShopRole, RoleMigrations>> = {
  users: usersMigrations,
  catalog: catalogMigrations,
  inventory: inventoryMigrations,
  orders: ordersMigrations,
  payments: paymentsMigrations,
  notifications: notificationsMigrations,
  gateway: gatewayMigrations,
};

/** The pre-split list's migration table. */
export const LEGACY_MIGRATION_TABLE = 'shop_migrations';

/** The migration table of `role` (Kysely adds `<name>_lock` beside it). */
export const migrationTableOf = (role: ShopRole) => `${LEGACY_MIGRATION_TABLE}_${role}`;

/** Names the pre-split list ran on `db`; empty when it never ran there. */
async function legacyDone(db: Kysely<unknown>): Promise<Set<string>> {
  const { rows } = await sql<{ present: string | null }>`
    select to_regclass(${LEGACY_MIGRATION_TABLE})::text as present`.execute(db);
  if (rows[0]?.present == null) return new Set();
  const done = await sql<{
    name: string;
  }>`select name from ${sql.table(LEGACY_MIGRATION_TABLE)}`.execute(db);
  return new Set(done.rows.map((r) => r.name));
}

function providerFor(role: ShopRole, legacy: ReadonlySet<string>): MigrationProvider {
  const migrations: Record<string, Migration> = {};
  for (const [name, migration] of Object.entries(ROLE_MIGRATIONS[role])) {
    const adopted = migration.legacy.length > 0 && migration.legacy.every((old) => legacy.has(old));
    // Recorded as done by the Migrator all the same: the pre-split list made this change.
    migrations[name] = adopted ? { up: async () => {} } : { up: (db) => migration.up(db) };
  }
  return { getMigrations: async () => migrations };
}

/**
 * Bring the tables of `roles` (default: every role, the one-process shop) up to date.
 * Resolves the migrations run, as `<role>/<name>`; throws naming the failing one.
 */
export async function migrate(
  db: Kysely<unknown>,
  roles: Iterable<string> = SHOP_ROLES,
): Promise<string[]> {
  const wanted = normalizeRoles(roles);
  const legacy = await legacyDone(db);
  const ran: string[] = [];
  for (const role of wanted) {
    const migrator = new Migrator({
      db,
      provider: providerFor(role, legacy),
      migrationTableName: migrationTableOf(role),
      migrationLockTableName: `${migrationTableOf(role)}_lock`,
    });
    const { error, results = [] } = await migrator.migrateToLatest();
    if (error !== undefined) {
      const failed = results.find((r) => r.status === 'Error');
      const name = failed ? ` (${role}/${failed.migrationName})` : ` (${role})`;
      throw new Error(
        `database migration failed${name}: ${String((error as Error)?.message ?? error)}`,
        { cause: error },
      );
    }
    for (const r of results) if (r.status === 'Success') ran.push(`${role}/${r.migrationName}`);
  }
  return ran;
}
