import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import type { Logger } from 'girder/logger';
import { Kysely, PostgresDialect } from 'kysely';
import { migrate } from './migrations.js';
import { resilientPgPool } from './pg-pool.js';
import { pgliteDialect } from './pglite-dialect.js';
import { normalizeRoles, SHOP_ROLES } from './roles.js';
import type { Database } from './schema.js';

/** Where the shop keeps its data. */
export type DatabaseConfig =
  | {
      kind: 'pglite';
      /** Data directory; in memory when undefined. */
      dataDir?: string | undefined;
      /** Start from this dump of a data directory (`dumpDataDir`) instead of an empty one: skips initdb. */
      template?: Blob | undefined;
    }
  | { kind: 'postgres'; url: string; poolSize?: number | undefined };

/** An open, migrated database. */
export interface OpenDatabase {
  readonly db: Kysely<Database>;
  /** What it is, for logs: `PGlite (in memory)`, `PGlite (./data)`, `PostgreSQL (host/db)`. */
  readonly description: string;
  /** PGlite only: a tarball of the data directory, usable as `template`. */
  readonly dump?: () => Promise<Blob>;
  close(): Promise<void>;
}

const describeUrl = (url: string) => {
  try {
    const u = new URL(url);
    return `${u.hostname}${u.port ? `:${u.port}` : ''}${u.pathname}`;
  } catch {
    return 'configured URL';
  }
};

/** What {@link openDatabase} migrates. */
export interface OpenDatabaseOptions {
  /**
   * The roles whose tables this database holds (their migrations run). Default: every
   * role (the one-process shop); one role in cluster mode (its own database).
   */
  roles?: Iterable<string> | undefined;
  /**
   * PostgreSQL: where an idle connection the server dropped (restart, failover) is
   * reported, as a warning. The pool has discarded it already and reconnects on the next
   * query. Default: not reported.
   */
  logger?: Logger | undefined;
}

/** Open the database the config names and run the migrations of `options.roles`. */
export async function openDatabase(
  config: DatabaseConfig,
  options: OpenDatabaseOptions = {},
): Promise<OpenDatabase> {
  // An unknown role throws here, before anything is opened.
  const roles = normalizeRoles(options.roles ?? SHOP_ROLES);
  let db: Kysely<Database>;
  let description: string;
  let dump: (() => Promise<Blob>) | undefined;
  if (config.kind === 'postgres') {
    const { logger } = options;
    const pool = resilientPgPool(
      config.url,
      config.poolSize ?? 10,
      logger &&
        ((error) =>
          logger.warn('database connection lost; the pool reconnects', { error: error.message })),
    );
    db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    description = `PostgreSQL (${describeUrl(config.url)})`;
  } else {
    if (config.dataDir !== undefined) mkdirSync(config.dataDir, { recursive: true });
    const client = await PGlite.create({
      ...(config.dataDir !== undefined && { dataDir: config.dataDir }),
      ...(config.template !== undefined && { loadDataDir: config.template }),
    });
    dump = async () => (await client.dumpDataDir('none')) as Blob;
    db = new Kysely<Database>({ dialect: pgliteDialect(client) });
    description =
      config.dataDir === undefined ? 'PGlite (in memory)' : `PGlite (${config.dataDir})`;
  }
  try {
    await migrate(db as Kysely<unknown>, roles);
  } catch (err) {
    await db.destroy().catch(() => {});
    throw err;
  }
  return { db, description, ...(dump && { dump }), close: () => db.destroy() };
}

/** PostgreSQL error code of a failed statement, when there is one (`23505` unique violation, ...). */
export function pgErrorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** The statement broke a unique constraint. */
export const isUniqueViolation = (err: unknown) => pgErrorCode(err) === '23505';
