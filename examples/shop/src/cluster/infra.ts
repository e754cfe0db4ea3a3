// The cluster's infrastructure: etcd (the registry), redis-server (rate limits, sessions,
// queue, cache) and PostgreSQL (the database). Each one is used as given (ETCD_ENDPOINTS,
// REDIS_URL, DATABASE_URL) or else started here from the installed binaries, on free
// loopback ports with a throwaway data dir, under a guard process that stops it and
// removes the dir when the launcher goes (even if the launcher is SIGKILLed).
import { execFile } from 'node:child_process';
import { accessSync, chownSync, constants, mkdtempSync, readdirSync, realpathSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { ShopRole } from '../db/roles.js';
import { createRoleDatabases } from './databases.js';
import type { GuardSpec } from './guard.js';
import { freePorts } from './ports.js';
import { etcdHealthy, postgresAnswers, redisAnswers } from './probes.js';
import { createSupervisor, type Supervisor } from './supervisor.js';

const run = promisify(execFile);

export type InfraName = 'etcd' | 'redis' | 'postgres';

/** Where the services find the infrastructure. */
export interface InfraEndpoints {
  etcdEndpoints: string[];
  redisUrl: string;
  databaseUrl: string;
  /** Each role's own database on that server, when `roleDatabases` asked for them (cluster/databases.ts). */
  roleDatabaseUrls?: Partial<Record<ShopRole, string>>;
}

/** One piece of infrastructure, for the banner. */
export interface InfraServer {
  name: InfraName;
  address: string;
  /** Started here (with its pid), or given through its environment variable. */
  origin:
    | { kind: 'started'; pid: number | undefined; dataDir: string }
    | { kind: 'given'; variable: string };
}

export interface RunningInfra {
  endpoints: InfraEndpoints;
  servers: InfraServer[];
  /** Stops what was started here and removes its data dirs. */
  close(): Promise<void>;
}

/** What each server needs, and how to do without it. */
export const INFRA: Record<InfraName, { binary: string; debianPackage: string; variable: string }> =
  {
    etcd: { binary: 'etcd', debianPackage: 'etcd-server', variable: 'ETCD_ENDPOINTS' },
    redis: { binary: 'redis-server', debianPackage: 'redis-server', variable: 'REDIS_URL' },
    postgres: { binary: 'postgres', debianPackage: 'postgresql', variable: 'DATABASE_URL' },
  };

/** Some servers are neither given nor installed; the message says what to do, one line each. */
export class InfraMissingError extends Error {
  constructor(readonly missing: InfraName[]) {
    super(
      missing
        .map((name) => {
          const { binary, debianPackage, variable } = INFRA[name];
          return `${binary} is not installed: install it (Debian/Ubuntu: sudo apt-get install ${debianPackage}) or set ${variable} to a running server`;
        })
        .join('\n'),
    );
    this.name = 'InfraMissingError';
  }
}

export interface InfraOptions {
  /** Where ETCD_ENDPOINTS, REDIS_URL, DATABASE_URL and PATH are read. Default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Extra directories searched for the binaries after PATH. Default: /usr/local/bin and PostgreSQL's /usr/lib/postgresql/<version>/bin, newest first. */
  searchDirs?: string[];
  /** Where the servers' prefixed output goes. Default: stdout. */
  output?: (line: string) => void;
  /** Node flags for the guard processes. Default `process.execArgv`. */
  execArgv?: string[];
  /** How long a server may take to become ready. Default 60 000 ms. */
  readyTimeoutMs?: number;
  /**
   * Roles whose own database (`<db>_<role>`) is created on the PostgreSQL server, given or
   * started, when missing; their URLs come back in `endpoints.roleDatabaseUrls`. Default: none.
   */
  roleDatabases?: Iterable<ShopRole>;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function defaultSearchDirs(): string[] {
  let versions: string[] = [];
  try {
    versions = readdirSync('/usr/lib/postgresql').filter((v) => /^\d+(\.\d+)?$/.test(v));
  } catch {
    // Not a Debian layout.
  }
  versions.sort((a, b) => Number(b) - Number(a));
  return ['/usr/local/bin', ...versions.map((v) => `/usr/lib/postgresql/${v}/bin`)];
}

/** Absolute path of `binary` on PATH or in `searchDirs`, or undefined. */
export function findBinary(binary: string, env: NodeJS.ProcessEnv, searchDirs: string[]) {
  const dirs = [...(env.PATH ?? '').split(delimiter).filter(Boolean), ...searchDirs];
  return dirs.map((dir) => join(dir, binary)).find(isExecutable);
}

/** The variable's value when set (and not blank). */
function given(env: NodeJS.ProcessEnv, name: InfraName): string | undefined {
  const value = env[INFRA[name].variable]?.trim();
  return value ? value : undefined;
}

/** Which binaries must be started, checked before anything starts: throws InfraMissingError. */
export function planInfra(options: InfraOptions = {}): Partial<Record<InfraName, string>> {
  const env = options.env ?? process.env;
  const searchDirs = options.searchDirs ?? defaultSearchDirs();
  const plan: Partial<Record<InfraName, string>> = {};
  const missing: InfraName[] = [];
  for (const name of Object.keys(INFRA) as InfraName[]) {
    if (given(env, name) !== undefined) continue;
    let found = findBinary(INFRA[name].binary, env, searchDirs);
    // initdb sits beside the real postgres binary (often behind a symlink).
    if (name === 'postgres' && found !== undefined) {
      found = realpathSync(found);
      if (!isExecutable(join(dirname(found), 'initdb'))) found = undefined;
    }
    if (found === undefined) missing.push(name);
    else plan[name] = found;
  }
  if (missing.length > 0) throw new InfraMissingError(missing);
  return plan;
}

/** PostgreSQL refuses to run as root; under root it runs as the `postgres` account. */
async function postgresAccount(): Promise<{ prefix: string[]; uid: number; gid: number } | null> {
  if (process.getuid?.() !== 0) return null;
  try {
    const [uid, gid] = await Promise.all([
      run('id', ['-u', 'postgres']).then((r) => Number(r.stdout.trim())),
      run('id', ['-g', 'postgres']).then((r) => Number(r.stdout.trim())),
    ]);
    const prefix = ['setpriv', '--reuid=postgres', '--regid=postgres', '--init-groups', '--'];
    return { prefix, uid, gid };
  } catch {
    throw new Error(
      'PostgreSQL cannot run as root and there is no "postgres" account: run as another user or set DATABASE_URL',
    );
  }
}

interface ServerPlan {
  name: InfraName;
  spec: Omit<GuardSpec, 'dataDir' | 'stopTimeoutMs'>;
  address: string;
  isReady(): Promise<boolean>;
}

async function planServer(name: InfraName, binary: string, dataDir: string): Promise<ServerPlan> {
  if (name === 'redis') {
    const [port] = await freePorts(1);
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dataDir];
    args.push('--save', '', '--appendonly', 'no', '--daemonize', 'no');
    return {
      name,
      spec: { command: binary, args, stopSignal: 'SIGTERM' },
      address: `redis://127.0.0.1:${port}`,
      isReady: () => redisAnswers(port!),
    };
  }
  if (name === 'etcd') {
    const [client, peer] = await freePorts(2);
    const clientUrl = `http://127.0.0.1:${client}`;
    const peerUrl = `http://127.0.0.1:${peer}`;
    const args = ['--name', 'shop', '--data-dir', join(dataDir, 'etcd')];
    args.push('--listen-client-urls', clientUrl, '--advertise-client-urls', clientUrl);
    args.push('--listen-peer-urls', peerUrl, '--initial-advertise-peer-urls', peerUrl);
    args.push('--initial-cluster', `shop=${peerUrl}`, '--log-level', 'warn');
    return {
      name,
      spec: { command: binary, args, stopSignal: 'SIGTERM' },
      address: clientUrl,
      isReady: () => etcdHealthy(client!),
    };
  }
  const [port] = await freePorts(1);
  const account = await postgresAccount();
  const pgdata = join(dataDir, 'pgdata');
  if (account !== null) chownSync(dataDir, account.uid, account.gid);
  const asAccount = account?.prefix ?? [];
  const initdb = [join(dirname(binary), 'initdb'), '-D', pgdata, '-U', 'postgres'];
  initdb.push('--auth=trust', '--encoding=UTF8', '--no-sync', '--no-instructions');
  const [command, ...initArgs] = [...asAccount, ...initdb];
  await run(command!, initArgs, { cwd: dataDir });
  const server = [binary, '-D', pgdata, '-p', String(port), '-k', dataDir];
  server.push('-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200');
  const [serverCommand, ...serverArgs] = [...asAccount, ...server];
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  return {
    name,
    // SIGINT is PostgreSQL's "fast" shutdown; SIGTERM would wait for every client to leave.
    spec: { command: serverCommand!, args: serverArgs, stopSignal: 'SIGINT' },
    address: url,
    isReady: () => postgresAnswers(url),
  };
}

/** The guard module beside this one (guard.js when built, guard.ts under a TypeScript loader). */
const GUARD = fileURLToPath(
  new URL(`./guard${extname(fileURLToPath(import.meta.url))}`, import.meta.url),
);

async function startServer(
  supervisor: Supervisor,
  plan: ServerPlan,
  dataDir: string,
  readyTimeoutMs: number,
): Promise<InfraServer> {
  const spec: GuardSpec = { ...plan.spec, dataDir, stopTimeoutMs: 10_000 };
  const info = await supervisor.start(plan.name, { SHOP_GUARD_SPEC: JSON.stringify(spec) });
  const deadline = Date.now() + readyTimeoutMs;
  while (!(await plan.isReady())) {
    if (supervisor.instance(info.id)?.state === 'exited') {
      throw new Error(`${plan.name} exited before it was ready (see its output above)`);
    }
    if (Date.now() > deadline) {
      throw new Error(`${plan.name} was not ready within ${readyTimeoutMs} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    name: plan.name,
    address: plan.address,
    origin: { kind: 'started', pid: Number(info.facts.pid), dataDir },
  };
}

/**
 * Uses or starts etcd, Redis and PostgreSQL and waits until each is ready. Throws
 * InfraMissingError before starting anything when a server is neither given nor installed;
 * on any other failure, stops what it started.
 */
export async function startInfra(options: InfraOptions = {}): Promise<RunningInfra> {
  const env = options.env ?? process.env;
  const plan = planInfra(options);
  const supervisor = createSupervisor(
    Object.fromEntries(Object.keys(INFRA).map((name) => [name, { entry: GUARD }])),
    { output: options.output, execArgv: options.execArgv, stopTimeoutMs: 15_000 },
  );
  const dataDirs: string[] = [];
  try {
    const servers = await Promise.all(
      (Object.keys(INFRA) as InfraName[]).map(async (name): Promise<InfraServer> => {
        const value = given(env, name);
        const binary = plan[name];
        if (value !== undefined || binary === undefined) {
          return {
            name,
            address: value!,
            origin: { kind: 'given', variable: INFRA[name].variable },
          };
        }
        const dataDir = mkdtempSync(join(tmpdir(), `girder-shop-${name}-`));
        dataDirs.push(dataDir);
        const server = await planServer(name, binary, dataDir);
        return startServer(supervisor, server, dataDir, options.readyTimeoutMs ?? 60_000);
      }),
    );
    const address = (name: InfraName) => servers.find((s) => s.name === name)!.address;
    const roleDatabases =
      options.roleDatabases === undefined
        ? undefined
        : await createRoleDatabases(address('postgres'), options.roleDatabases);
    return {
      endpoints: {
        etcdEndpoints: address('etcd')
          .split(',')
          .map((e) => e.trim())
          .filter(Boolean),
        redisUrl: address('redis'),
        databaseUrl: address('postgres'),
        ...(roleDatabases && { roleDatabaseUrls: { ...roleDatabases.urls } }),
      },
      servers,
      // A guard removes its dir once its server exits, but a guard forced out by its own
      // stop timeout (a slow shutdown under load) can leave it half removed; the dirs are
      // ours, so take them down here too.
      close: async () => {
        await supervisor.close();
        await removeDirs(dataDirs);
      },
    };
  } catch (err) {
    await supervisor.close();
    await removeDirs(dataDirs);
    throw err;
  }
}

function removeDirs(dirs: string[]): Promise<unknown> {
  return Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true, maxRetries: 3 })));
}
