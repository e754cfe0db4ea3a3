import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { answersPing } from './redis.js';
import { type ServiceHandle, type ServiceOptions, startService } from './service.js';

const run = promisify(execFile);

/** A throwaway 3-master Redis Cluster (no replicas, no persistence) on loopback. */
export interface RedisCluster {
  /** One handle per master (SIGSTOP/kill/restart them for chaos tests). */
  readonly nodes: readonly ServiceHandle[];
  /** Seed nodes for `new Cluster(startupNodes)`. */
  readonly startupNodes: ReadonlyArray<{ host: string; port: number }>;
  /** Stops every node and removes their data dirs. Idempotent. */
  stop(): Promise<void>;
}

export interface RedisClusterOptions extends ServiceOptions {
  /** Masters to start (at least 3, Redis' minimum). Default 3. */
  masters?: number;
  /** redis-server executable. Default `redis-server`. */
  command?: string;
  /** redis-cli executable. Default `redis-cli`. */
  cliCommand?: string;
}

/** Starts `masters` cluster-enabled redis-servers, joins them, and waits for `cluster_state:ok`. */
export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<RedisCluster> {
  const masters = options.masters ?? 3;
  const cli = options.cliCommand ?? 'redis-cli';
  const started = await Promise.allSettled(
    Array.from({ length: masters }, () =>
      startService(
        {
          name: 'redis-cluster-node',
          command: options.command ?? 'redis-server',
          portCount: 2, // client port, cluster bus port
          args: ([port, bus], dataDir) => [
            ...['--port', String(port), '--bind', '127.0.0.1', '--cluster-port', String(bus)],
            ...['--cluster-enabled', 'yes', '--cluster-config-file', `${dataDir}/nodes.conf`],
            ...['--cluster-node-timeout', '2000', '--cluster-require-full-coverage', 'yes'],
            ...['--save', '', '--appendonly', 'no', '--dir', dataDir],
            ...['--daemonize', 'no', '--protected-mode', 'no'],
          ],
          isReady: ([port]) => answersPing(port!),
        },
        options,
      ),
    ),
  );
  const nodes = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const stop = async () => {
    await Promise.all(nodes.map((n) => n.stop()));
  };
  const failed = started.find((s) => s.status === 'rejected');
  if (failed) {
    await stop();
    throw failed.reason;
  }
  try {
    const addresses = nodes.map((n) => `127.0.0.1:${n.port}`);
    await run(
      cli,
      ['--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes'],
      {
        timeout: 30_000,
      },
    );
    await waitForClusterOk(cli, nodes, options.readyTimeoutMs ?? 20_000);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    nodes,
    startupNodes: nodes.map((n) => ({ host: '127.0.0.1', port: n.port })),
    stop,
  };
}

async function waitForClusterOk(cli: string, nodes: readonly ServiceHandle[], timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const states = await Promise.all(
      nodes.map((n) =>
        run(cli, ['-p', String(n.port), 'cluster', 'info'], { timeout: 5_000 })
          .then(
            ({ stdout }) =>
              /cluster_state:ok/.test(stdout) &&
              /cluster_known_nodes:(\d+)/.exec(stdout)?.[1] === String(nodes.length),
          )
          .catch(() => false),
      ),
    );
    if (states.every(Boolean)) return;
    if (Date.now() > deadline) {
      throw new Error(`redis cluster did not reach cluster_state:ok within ${timeoutMs} ms`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

let shared: Promise<RedisCluster> | undefined;

/**
 * One cluster per test process, started on first use (a test file's `beforeAll`) and
 * stopped when the process exits (the harness reaper); call `stop()` in `afterAll` to
 * stop it earlier.
 */
export function sharedRedisCluster(): Promise<RedisCluster> {
  shared ??= startRedisCluster().then(
    (cluster) => ({
      ...cluster,
      stop: () => {
        shared = undefined;
        return cluster.stop();
      },
    }),
    (error: unknown) => {
      shared = undefined;
      throw error;
    },
  );
  return shared;
}
