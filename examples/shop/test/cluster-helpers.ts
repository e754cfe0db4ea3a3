// Test helpers for cluster mode: the cluster as `npm run shop -- --cluster` starts it
// (real etcd, redis-server and PostgreSQL from the launcher, one process per service
// instance running the sources through tsx), with the gateway (a Shop in gateway mode)
// in this process; and the gateway's own count of calls per service instance, read from
// grpc-js channelz (what its channels sent to each address, not what a balancer meant to).
import { getChannelzHandlers } from '@grpc/grpc-js';
import { noopLogger } from 'girder/logger';
import { type ClusterOptions, type RunningCluster, startCluster } from '../src/cluster/launch.js';
import { freePorts } from '../src/cluster/ports.js';
import type { InstanceInfo } from '../src/cluster/supervisor.js';
import { createShop } from '../src/shop.js';
import { Client, type TestShop, testConfig } from './helpers.js';

/** What the services and the gateway run with in tests: testConfig's settings, as variables. */
export const CLUSTER_TEST_ENV: Record<string, string> = {
  HOST: '127.0.0.1',
  SHOP_ADMIN_EMAIL: 'admin@test.local',
  SHOP_ADMIN_PASSWORD: 'admin-pass-1!',
  SHOP_PASSWORD_HASH_COST: '1024',
  SHOP_API_RATE_LIMIT: '100000/1m',
  SHOP_LOGIN_LIMIT_PER_IP: '100000/1m',
  SHOP_LOGIN_LIMIT_PER_ACCOUNT: '1000/1m',
  SHOP_RPC_RATE_LIMIT: '1000000/1s',
  SHOP_SWEEP_INTERVAL: '1h',
  SHOP_POPULAR_INTERVAL: '24h',
  SHOP_RPC_TIMEOUT: '30s',
  LOG_LEVEL: 'warn',
};

export interface TestCluster extends TestShop {
  readonly cluster: RunningCluster;
  /** Every line the instances and the servers printed (prefixed with their id). */
  readonly output: string[];
  /** The running instances of `role`. */
  running(role: string): InstanceInfo[];
}

/**
 * Starts a cluster and its gateway on a free port. `env` goes to the services and the
 * gateway alike; `roles` (default: the launcher's layout) says how many of each.
 */
export async function startTestCluster(
  env: Record<string, string> = {},
  options: Pick<ClusterOptions, 'roles'> = {},
): Promise<TestCluster> {
  const output: string[] = [];
  // The public URL is set, as a deployment would: the payments instances send the buyer
  // back there from the provider's page. Left unset, they send it to 127.0.0.1 while the
  // gateway calls itself localhost: another origin, so the browser's session is not there.
  const [port] = (await freePorts(1)) as [number];
  const settings = { SHOP_PUBLIC_URL: `http://localhost:${port}`, ...CLUSTER_TEST_ENV, ...env };
  const cluster = await startCluster({
    env: { PATH: process.env.PATH ?? '', ...settings },
    execArgv: ['--import', 'tsx'],
    gatewayPort: port,
    output: (line) => {
      output.push(line);
      if (process.env.SHOP_TEST_CLUSTER_OUTPUT) console.log(line);
    },
    ...options,
  });
  try {
    const config = testConfig({ ...settings, ...cluster.gatewayEnv });
    const shop = await createShop(config, {
      logger: noopLogger(),
      etcdEndpoints: cluster.infra.endpoints.etcdEndpoints,
    });
    await shop.listen();
    const { port } = shop.app.server.address() as { port: number };
    const base = `http://127.0.0.1:${port}`;
    return {
      cluster,
      output,
      shop,
      base,
      client: new Client(base),
      running: (role) =>
        cluster.control.instances().filter((i) => i.role === role && i.state === 'running'),
      async close() {
        try {
          await shop.close();
        } finally {
          await cluster.close();
        }
      },
    };
  } catch (err) {
    await cluster.close();
    throw err;
  }
}

// biome-ignore lint/suspicious/noExplicitAny: channelz's generated message types are not exported.
type Channelz = any;
const channelz = getChannelzHandlers() as unknown as Record<
  string,
  (call: { request: unknown }, done: (err: Error | null, value?: Channelz) => void) => void
>;
const ask = (method: string, request: unknown) =>
  new Promise<Channelz>((resolve, reject) =>
    channelz[method]!({ request }, (err, value) => (err ? reject(err) : resolve(value))),
  );

/**
 * Calls this process's channels to `target` (e.g. `etcd:///orders`) have started on
 * each address so far, by subchannel (address -> calls), from grpc-js channelz.
 */
export async function callsByAddress(target: string): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  const seen = new Set<string>();
  let start = 0;
  for (;;) {
    const page = await ask('GetTopChannels', { start_channel_id: start, max_results: 100 });
    for (const channel of page.channel as Channelz[]) {
      start = Math.max(start, Number(channel.ref.channel_id) + 1);
      if (channel.data.target !== target) continue;
      for (const ref of channel.subchannel_ref as Channelz[]) {
        const id = String(ref.subchannel_id);
        if (seen.has(id)) continue;
        seen.add(id);
        const { subchannel } = await ask('GetSubchannel', { subchannel_id: id });
        const address = String(subchannel.data.target);
        counts.set(address, (counts.get(address) ?? 0) + Number(subchannel.data.calls_started));
      }
    }
    if (page.end) return counts;
  }
}

/** `after - before` per address. */
export function callsSince(
  before: Map<string, number>,
  after: Map<string, number>,
): Map<string, number> {
  return new Map([...after].map(([address, n]) => [address, n - (before.get(address) ?? 0)]));
}
