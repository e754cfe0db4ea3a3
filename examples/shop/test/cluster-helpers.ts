// Test helpers for cluster mode: the cluster as `npm run shop -- --cluster` starts it
// (helpers.ts `startTestCluster`: real etcd, redis-server and PostgreSQL from the
// launcher, one process per service instance, the gateway in this process), seen as a
// TestShop; and the gateway's own count of calls per service instance, read from grpc-js
// channelz (what its channels sent to each address, not what a balancer meant to).
import { getChannelzHandlers } from '@grpc/grpc-js';
import type { RunningCluster } from '../src/cluster/launch.js';
import { freePorts } from '../src/cluster/ports.js';
import type { RoleCount } from '../src/cluster/roles.js';
import type { InstanceInfo } from '../src/cluster/supervisor.js';
import { Client, startTestCluster, type TestShop } from './helpers.js';

export interface TestCluster extends TestShop {
  readonly cluster: RunningCluster;
  /** Every line the instances and the servers printed (prefixed with their id). */
  readonly output: string[];
  /** The running instances of `role`. */
  running(role: string): InstanceInfo[];
}

/**
 * Starts a cluster and its gateway on a free port. `env` goes to the services and the
 * gateway alike (on top of CLUSTER_TEST_ENV); `roles` (default: the launcher's layout,
 * inventory and orders x2) says how many of each. SHOP_TEST_CLUSTER_OUTPUT=1 prints what
 * the processes print.
 */
export async function clusterShop(
  env: Record<string, string> = {},
  roles?: readonly RoleCount[],
): Promise<TestCluster> {
  const output: string[] = [];
  // SHOP_PUBLIC_URL is left to the launcher: the payments instances must send the buyer
  // back to the gateway's own origin (localhost), where the browser has its session.
  const [port] = (await freePorts(1)) as [number];
  const running = await startTestCluster({
    env: {
      // No ranking runs in the background (the flow runs it when it needs it).
      SHOP_POPULAR_INTERVAL: '24h',
      ...env,
    },
    gatewayPort: port,
    ...(roles && { roles }),
    output: (line) => {
      output.push(line);
      if (process.env.SHOP_TEST_CLUSTER_OUTPUT) console.log(line);
    },
  });
  const base = `http://127.0.0.1:${port}`;
  const { cluster, shop } = running;
  return {
    cluster,
    output,
    shop,
    base,
    client: new Client(base),
    running: (role) =>
      cluster.control.instances().filter((i) => i.role === role && i.state === 'running'),
    close: () => running.close(),
  };
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
