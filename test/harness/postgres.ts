import { execFile } from 'node:child_process';
import { chownSync, readdirSync } from 'node:fs';
import { userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { ensureBinary, findOnPath } from './binaries.js';
import { type ServiceHandle, type ServiceOptions, startService } from './service.js';

const run = promisify(execFile);

export interface PostgresServer extends ServiceHandle {
  /** `postgres://postgres@127.0.0.1:<port>/postgres` (trust authentication, loopback only). */
  readonly url: string;
}

export interface PostgresOptions extends ServiceOptions {
  /** Directory holding `initdb` and `postgres`. Default: the newest `/usr/lib/postgresql/<n>/bin`, else PATH (installing `postgresql` when allowed). */
  binDir?: string;
}

/** The account the server runs as when we are root (PostgreSQL refuses to run as root). */
const SERVER_USER = 'postgres';

/**
 * Starts a throwaway PostgreSQL cluster on a free loopback port: `initdb` into a fresh data
 * dir, durability switched off (fsync, synchronous commit) because the data is thrown away.
 * Under root the server runs as the `postgres` account the Debian package creates.
 */
export async function startPostgres(options: PostgresOptions = {}): Promise<PostgresServer> {
  const binDir =
    options.binDir ??
    dirname(
      await ensureBinary({
        command: 'postgres',
        debianPackage: 'postgresql',
        alternativeEnv: 'SHOP_TEST_DATABASE_URL',
        locate: locatePostgres,
      }),
    );
  const asServerUser = process.getuid?.() === 0 ? await dropRootPrefix() : [];
  const pgdata = (dataDir: string) => join(dataDir, 'pgdata');
  const service = await startService(
    {
      name: 'postgres',
      command: asServerUser[0] ?? join(binDir, 'postgres'),
      portCount: 1,
      async prepare(dataDir) {
        if (asServerUser.length > 0) {
          const { uid, gid } = await accountIds(SERVER_USER);
          chownSync(dataDir, uid, gid);
        }
        const [command, ...args] = [
          ...asServerUser,
          join(binDir, 'initdb'),
          ...['-D', pgdata(dataDir), '-U', 'postgres', '--auth=trust', '--encoding=UTF8'],
          ...['--no-sync', '--no-instructions'],
        ];
        await run(command!, args, { cwd: dataDir });
      },
      args: ([port], dataDir) => [
        ...asServerUser.slice(1),
        ...(asServerUser.length > 0 ? [join(binDir, 'postgres')] : []),
        ...['-D', pgdata(dataDir), '-p', String(port), '-k', dataDir],
        ...['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=300'],
        ...['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'],
      ],
      // SIGTERM is PostgreSQL's "smart" shutdown, which waits for every client to leave.
      stopSignal: 'SIGINT',
      isReady: ([port]) => acceptsQueries(port!),
    },
    options,
  );
  return Object.assign(service, { url: `postgres://postgres@127.0.0.1:${service.port}/postgres` });
}

/** The newest Debian-installed server (`/usr/lib/postgresql/<version>/bin/postgres`), else PATH. */
export function locatePostgres(): string | undefined {
  const root = '/usr/lib/postgresql';
  let versions: string[] = [];
  try {
    versions = readdirSync(root).filter((v) => /^\d+(\.\d+)?$/.test(v));
  } catch {
    // Not a Debian layout.
  }
  versions.sort((a, b) => Number(b) - Number(a));
  for (const version of versions) {
    const found = findOnPath(join(root, version, 'bin', 'postgres'));
    if (found) return found;
  }
  return findOnPath('postgres');
}

/** `setpriv` (which execs, so the server keeps our pid for kill()) into the server account. */
async function dropRootPrefix(): Promise<string[]> {
  const setpriv = findOnPath('setpriv');
  if (setpriv === undefined) {
    throw new Error('girder tests run PostgreSQL as root through setpriv: install util-linux');
  }
  await accountIds(SERVER_USER);
  return [setpriv, `--reuid=${SERVER_USER}`, `--regid=${SERVER_USER}`, '--init-groups', '--'];
}

async function accountIds(name: string): Promise<{ uid: number; gid: number }> {
  try {
    const [uid, gid] = await Promise.all([
      run('id', ['-u', name]).then((r) => Number(r.stdout.trim())),
      run('id', ['-g', name]).then((r) => Number(r.stdout.trim())),
    ]);
    return { uid, gid };
  } catch {
    throw new Error(
      `girder tests run PostgreSQL as the "${name}" account when root (current user ${userInfo().username}), and it does not exist: install the postgresql package or run as another user`,
    );
  }
}

/** True when the server answers a query (not merely accepting TCP while it starts up). */
async function acceptsQueries(port: number): Promise<boolean> {
  const client = new pg.Client({
    host: '127.0.0.1',
    port,
    user: 'postgres',
    database: 'postgres',
    connectionTimeoutMillis: 1_000,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * A `pg.Pool` on a test server that ignores connection errors. Stopping the server at
 * teardown ends connections still open ("terminating connection due to administrator
 * command"): that is the server going away on purpose, not an unhandled error. Query
 * errors still reject their query as usual.
 */
export function postgresPool(url: string, max = 4): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max });
  pool.on('error', () => {});
  pool.on('connect', (client) => client.on('error', () => {}));
  return pool;
}
