// The shops the load bench (shop-load.bench.ts) places orders on, each the BUILT shop
// (examples/shop/dist/main.js under plain Node, as `npm run shop` runs it) in a process
// of its own, so the load generator never shares their event loops:
//   direct   every service in one process, plain object calls (SHOP_TRANSPORT=direct)
//   grpc     every service in one process, over in-process gRPC on loopback
//   cluster  `--cluster`: one process per service instance, found through etcd, the
//            gateway in the launcher's process
// The two one-process shops run on a PostgreSQL and a Redis started here (each its own
// database and key prefix), so the three differ in how the services are reached, not in
// what they store in; the cluster starts its own infrastructure, as `--cluster` does.
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import pg from 'pg';
import { type RunningInfra, startInfra } from '../examples/shop/src/cluster/infra.js';

export type Mode = 'direct' | 'grpc' | 'cluster';
export const MODES: readonly Mode[] = ['direct', 'grpc', 'cluster'];

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const BUILD = new URL('../examples/shop/scripts/build.mjs', import.meta.url);
const SHOP_MAIN = fileURLToPath(new URL('../examples/shop/dist/main.js', import.meta.url));

export const ADMIN = { email: 'admin@load.local', password: 'admin-pass-1!' };

/** What every shop runs with: the defaults, but quotas that would turn load into 429s, and cheap password hashes for the buyers' sign-ups. */
const SHOP_ENV: Record<string, string> = {
  PORT: '0',
  HOST: '127.0.0.1',
  LOG_LEVEL: 'warn',
  SHOP_SMS: 'mock',
  SHOP_ADMIN_EMAIL: ADMIN.email,
  SHOP_ADMIN_PASSWORD: ADMIN.password,
  SHOP_JWT_SECRET: 'load-bench-secret-load-bench-secret-123',
  SHOP_PAYMENT_SECRET: 'load-bench-payment-secret',
  SHOP_PASSWORD_HASH_COST: '1024',
  SHOP_API_RATE_LIMIT: '1000000000/1m',
  SHOP_LOGIN_LIMIT_PER_IP: '1000000/1m',
  SHOP_LOGIN_LIMIT_PER_ACCOUNT: '1000000/1m',
  SHOP_RPC_RATE_LIMIT: '1000000000/1s',
};

/** The environment of this process without anything that would point a shop elsewhere. */
function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value === undefined) continue;
    if (/^(SHOP_|DATABASE_URL|REDIS_URL|ETCD_ENDPOINTS|PORT$|HOST$|NODE_OPTIONS|TSX_)/.test(key))
      continue;
    env[key] = value;
  }
  return env;
}

export interface RunningShop {
  mode: Mode;
  url: string;
  /** Lines the shop printed (the banner, warnings). */
  output: string[];
  close(): Promise<void>;
}

/** Builds the library's and the shop's dist/ if they are out of date. */
export async function buildShop(): Promise<void> {
  const { buildShop: build } = (await import(BUILD.href)) as {
    buildShop(options: { log(line: string): void }): Promise<unknown>;
  };
  await build({ log: (line) => process.stderr.write(`  ${line}\n`) });
}

/** Starts `node examples/shop/dist/main.js [--cluster]`; resolves once it serves. */
export async function startBuiltShop(
  mode: Mode,
  env: Record<string, string>,
): Promise<RunningShop> {
  const child: ChildProcess = spawn(
    process.execPath,
    [SHOP_MAIN, ...(mode === 'cluster' ? ['--cluster'] : [])],
    {
      cwd: ROOT,
      env: { ...baseEnv(), ...SHOP_ENV, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const output: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const url = await new Promise<string>((resolve, reject) => {
    // Both streams are read to the end: a full pipe would stall the shop.
    for (const stream of [child.stdout!, child.stderr!]) {
      createInterface({ input: stream }).on('line', (line) => {
        if (output.length < 500) output.push(line);
        const m = /girder example shop is running at (http:\S+)/.exec(line);
        if (m) resolve(m[1]!);
      });
    }
    void exited.then((code) =>
      reject(new Error(`the ${mode} shop exited (${code}) before serving:\n${output.join('\n')}`)),
    );
  });
  return {
    mode,
    url,
    output,
    async close() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export interface LoadShops {
  shops: Map<Mode, RunningShop>;
  close(): Promise<void>;
}

/**
 * Builds, then starts the shops of `modes` one after the other (PostgreSQL and Redis
 * first when a one-process mode is among them).
 */
export async function startLoadShops(modes: readonly Mode[]): Promise<LoadShops> {
  await buildShop();
  const shops = new Map<Mode, RunningShop>();
  let infra: RunningInfra | undefined;
  const close = async () => {
    for (const shop of [...shops.values()].reverse()) await shop.close();
    await infra?.close();
  };
  try {
    if (modes.some((m) => m !== 'cluster')) {
      infra = await startInfra({ env: { PATH: process.env.PATH }, output: () => {} });
    }
    for (const mode of modes) {
      process.stderr.write(`  starting the ${mode} shop ...\n`);
      let env: Record<string, string> = { SHOP_TRANSPORT: mode === 'direct' ? 'direct' : 'grpc' };
      if (mode !== 'cluster' && infra) {
        const database = `load_${mode}`;
        const admin = new pg.Client({ connectionString: infra.endpoints.databaseUrl });
        await admin.connect();
        try {
          await admin.query(`DROP DATABASE IF EXISTS ${database}`);
          await admin.query(`CREATE DATABASE ${database}`);
        } finally {
          await admin.end();
        }
        const url = new URL(infra.endpoints.databaseUrl);
        url.pathname = `/${database}`;
        env = {
          ...env,
          DATABASE_URL: url.toString(),
          REDIS_URL: infra.endpoints.redisUrl,
          SHOP_REDIS_PREFIX: `load-${mode}:`,
        };
      }
      shops.set(mode, await startBuiltShop(mode, env));
    }
  } catch (err) {
    await close();
    throw err;
  }
  return { shops, close };
}

/** For a quick look: `node --import tsx bench/shop-load-servers.ts cluster` starts one and prints its URL. */
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const modes = (process.argv.slice(2) as Mode[]).filter((m) => MODES.includes(m));
  const running = await startLoadShops(modes.length > 0 ? modes : MODES);
  for (const shop of running.shops.values()) console.log(`${shop.mode}: ${shop.url}`);
  process.once('SIGINT', () => void running.close().then(() => process.exit(0)));
}
