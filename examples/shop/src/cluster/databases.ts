// One PostgreSQL database per role in cluster mode, on the one server: the role's tables
// (db/roles.ts) live in `<db>_<role>`, beside the database the URL names. The launcher
// creates them once before the services start; each service opens its own with
// `openDatabase({ kind: 'postgres', url: roleDatabaseUrl(base, role) }, { roles: [role] })`.
import pg from 'pg';
import { normalizeRoles, SHOP_ROLES, type ShopRole } from '../db/roles.js';

/** The database `url` names (`postgres` when it names none). */
function databaseOf(url: URL): string {
  const name = decodeURIComponent(url.pathname.replace(/^\//, ''));
  return name === '' ? 'postgres' : name;
}

function parse(baseUrl: string): URL {
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new Error('the database URL is not a URL (postgres://user@host:port/db)');
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new Error(`the database URL must be postgres:// or postgresql://, not ${url.protocol}//`);
  }
  return url;
}

/** The name of `role`'s database beside `baseUrl`'s: `<db>_<role>`. */
export function roleDatabaseName(baseUrl: string, role: ShopRole): string {
  const [checked] = normalizeRoles([role]);
  return `${databaseOf(parse(baseUrl))}_${checked}`;
}

/** `baseUrl` with its database replaced by `role`'s (same server, user and parameters). */
export function roleDatabaseUrl(baseUrl: string, role: ShopRole): string {
  const url = parse(baseUrl);
  url.pathname = `/${encodeURIComponent(roleDatabaseName(baseUrl, role))}`;
  return url.toString();
}

/** What {@link createRoleDatabases} did. */
export interface RoleDatabases {
  /** Each role's database URL. */
  readonly urls: Readonly<Partial<Record<ShopRole, string>>>;
  /** The roles whose database was created now (the others existed). */
  readonly created: readonly ShopRole[];
}

const quoteIdent = (name: string) => `"${name.replaceAll('"', '""')}"`;

/** A database of this name exists already: another process created it first (42P04, or 23505 when both ran at once). */
const ALREADY_THERE = new Set(['42P04', '23505']);
/** The database a URL names does not exist. */
const INVALID_CATALOG = '3D000';

/** A client on `url`'s database, or on `postgres` when that one does not exist yet. */
async function adminClient(url: URL): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url.toString() });
  try {
    await client.connect();
    return client;
  } catch (err) {
    await client.end().catch(() => {});
    if ((err as { code?: string }).code !== INVALID_CATALOG || databaseOf(url) === 'postgres') {
      throw err;
    }
    const fallback = new URL(url);
    fallback.pathname = '/postgres';
    const other = new pg.Client({ connectionString: fallback.toString() });
    try {
      await other.connect();
    } catch (again) {
      await other.end().catch(() => {});
      throw again;
    }
    return other;
  }
}

/**
 * Creates the database of each of `roles` (default: every role) on `baseUrl`'s server
 * where it is missing. Idempotent: existing ones are kept as they are, also when another
 * process creates one at the same moment. The user needs the CREATEDB privilege.
 */
export async function createRoleDatabases(
  baseUrl: string,
  roles: Iterable<string> = SHOP_ROLES,
): Promise<RoleDatabases> {
  const wanted = normalizeRoles(roles);
  const url = parse(baseUrl);
  const names = new Map(wanted.map((role) => [role, roleDatabaseName(baseUrl, role)]));
  const client = await adminClient(url);
  const created: ShopRole[] = [];
  try {
    const { rows } = await client.query<{ datname: string }>(
      'select datname from pg_database where datname = any($1)',
      [[...names.values()]],
    );
    const existing = new Set(rows.map((r) => r.datname));
    for (const [role, name] of names) {
      if (existing.has(name)) continue;
      try {
        await client.query(`CREATE DATABASE ${quoteIdent(name)}`);
        created.push(role);
      } catch (err) {
        if (!ALREADY_THERE.has((err as { code?: string }).code ?? '')) {
          throw new Error(
            `cannot create the ${role} database "${name}": ${(err as Error).message}`,
            {
              cause: err,
            },
          );
        }
      }
    }
  } finally {
    await client.end().catch(() => {});
  }
  const urls = Object.fromEntries(wanted.map((role) => [role, roleDatabaseUrl(baseUrl, role)]));
  return { urls, created };
}
