import type { Migration } from 'kysely';

/**
 * One schema change of one role. `legacy` names the migrations of the pre-split list
 * (table `shop_migrations`, one list for every role) that made the same change: on a
 * database they ran on, this one is recorded as done without running.
 */
export interface RoleMigration extends Migration {
  readonly legacy: readonly string[];
}

/** A role's migrations by name; names sort in the order they run. */
export type RoleMigrations = Readonly<Record<string, RoleMigration>>;
