// End to end on a real etcd: three grpc-js server processes register with weights
// 5:1:1 through girder's etcdRegistry; a client on `<scheme>:///svc` balances with
// girder_swrr. Then one server is SIGKILLed (its lease expires) and one is added.
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type * as grpc from '@grpc/grpc-js';
import { Etcd3 } from 'etcd3';
import { afterAll, describe, expect, it } from 'vitest';
import {
  girderChannelOptions,
  registerBalancers,
  registerEtcdResolver,
} from '../../src/grpc/index.js';
import { etcdRegistry } from '../../src/registry/index.js';
import { sharedEtcdEndpoints, uniquePrefix } from '../harness/index.js';
import { type Client, callWho, makeClient, uniqueScheme, untilAllAnswer } from './fixtures/grpc.js';

const SERVER = fileURLToPath(new URL('./fixtures/server-process.ts', import.meta.url));
const LEASE_TTL_S = 2;
// Concurrent callers: at most this many calls are in flight (so at most this many can
// fail when a server dies). Several lanes keep the test short on a busy machine.
const LANES = 16;

const children = new Map<string, ChildProcess>();
afterAll(() => {
  for (const child of children.values()) child.kill('SIGKILL');
});

function startServerProcess(prefix: string, id: string, weight: number): Promise<string> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      SERVER,
      sharedEtcdEndpoints().join(','),
      prefix,
      'svc',
      id,
      String(weight),
      String(LEASE_TTL_S),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  children.set(id, child);
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`server ${id} exited with ${code}`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const message = JSON.parse(line) as { event: string; address: string };
      if (message.event === 'ready') resolve(message.address);
    });
  });
}

interface Tally {
  counts: Map<string, number>;
  failures: grpc.ServiceError[];
  /** Time of each call's start, with its outcome. */
  calls: Array<{ at: number; id?: string; failed: boolean }>;
}

/** `LANES` callers in parallel until `total` calls are done (or `until()` says stop). */
async function hammer(
  client: Client,
  opts: { total?: number; until?: () => boolean },
): Promise<Tally> {
  const tally: Tally = { counts: new Map(), failures: [], calls: [] };
  let started = 0;
  const more = () => (opts.total !== undefined ? started < opts.total : !opts.until?.());
  await Promise.all(
    Array.from({ length: LANES }, async () => {
      while (more()) {
        started++;
        const at = Date.now();
        const { id, error } = await callWho(client);
        tally.calls.push({ at, id, failed: error !== undefined });
        if (error) tally.failures.push(error);
        else if (id !== undefined) tally.counts.set(id, (tally.counts.get(id) ?? 0) + 1);
      }
    }),
  );
  return tally;
}

describe('gRPC end to end on real etcd', () => {
  it('splits 5:1:1, survives a SIGKILLed server, and sends traffic to a new one', async () => {
    const prefix = uniquePrefix('grpc-e2e', '/').replace(/\/$/, '');
    const etcd = new Etcd3({ hosts: sharedEtcdEndpoints() });
    const registry = etcdRegistry(etcd, { prefix, leaseTtlS: 5 });
    const scheme = uniqueScheme();
    const resolver = registerEtcdResolver(registry, { scheme, minResolveIntervalMs: 200 });
    registerBalancers();
    await Promise.all([
      startServerProcess(prefix, 'a', 5),
      startServerProcess(prefix, 'b', 1),
      startServerProcess(prefix, 'c', 1),
    ]);
    const client = makeClient(`${scheme}:///svc`, girderChannelOptions('girder_swrr'));
    try {
      await untilAllAnswer(client, ['a', 'b', 'c']);
      // 1. The split follows the registry weights.
      const split = await hammer(client, { total: 2_100 });
      expect(split.failures).toEqual([]);
      const share = (id: string) => (split.counts.get(id) ?? 0) / 2_100;
      expect(Math.abs(share('a') - 5 / 7)).toBeLessThan(0.02);
      expect(Math.abs(share('b') - 1 / 7)).toBeLessThan(0.02);
      expect(Math.abs(share('c') - 1 / 7)).toBeLessThan(0.02);

      // 2. b is SIGKILLed. Its connection drops at once; its lease expires within the TTL
      // and discovery removes it. Calls keep flowing meanwhile.
      const discovery = registry.discover('svc');
      await discovery.ready;
      const killedAt = Date.now();
      children.get('b')?.kill('SIGKILL');
      let goneAt = 0;
      const afterKill = await hammer(client, {
        until: () => {
          if (goneAt === 0 && !discovery.instances().some((i) => i.id === 'b')) goneAt = Date.now();
          // keep calling for a little while after b left the registry
          return goneAt !== 0 && Date.now() - goneAt > 300;
        },
      });
      // Failures: at most the calls in flight on b's connection when it dropped.
      expect(afterKill.failures.length).toBeLessThanOrEqual(LANES);
      // Nothing reached b after the kill (it is dead), and no call started after the first
      // lease TTL failed: traffic had moved.
      expect(afterKill.counts.get('b') ?? 0).toBe(0);
      const lateFailures = afterKill.calls.filter(
        (c) => c.failed && c.at > killedAt + LEASE_TTL_S * 1_000,
      );
      expect(lateFailures).toEqual([]);
      // The survivors share what is left by their weights (5:1).
      const a = afterKill.counts.get('a') ?? 0;
      const c = afterKill.counts.get('c') ?? 0;
      expect(a).toBeGreaterThan(3 * c);
      // 3. A new server d (weight 1) registers and gets traffic.
      await startServerProcess(prefix, 'd', 1);
      await untilAllAnswer(client, ['d']);
      const withD = await hammer(client, { total: 700 });
      expect(withD.failures).toEqual([]);
      expect(withD.counts.get('d') ?? 0).toBeGreaterThanOrEqual(90);
      await discovery.close();
    } finally {
      client.close();
      await resolver.close();
      await registry.close();
      etcd.close();
    }
  }, 120_000);
});
