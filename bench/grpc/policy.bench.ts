import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { girderChannelOptions, registerBalancers } from 'girder/grpc';
import type { BenchSuite, Runner } from '../harness.js';
import { pingDefinition } from './ping.js';

/**
 * Per-call overhead of a girder policy against grpc-js's built-in round_robin: unary
 * calls to three loopback servers (equal weights), both channels on the same
 * `ipv4:` target so only the load-balancing policy differs. girder_swrr adds the SWRR
 * pick plus the call-started/ended hooks that time each call for `report()`. The
 * servers live in a child process; this process runs only the clients.
 */
const PingClient = grpc.makeGenericClientConstructor(pingDefinition, 'Ping');
type Ping = (req: Buffer, callback: (err: grpc.ServiceError | null) => void) => void;
const EMPTY = Buffer.alloc(0);
const SERVERS = fileURLToPath(new URL('./ping-servers.ts', import.meta.url));
/**
 * Calls per channel before timing. grpc-js's call path is cold for the first thousand
 * or so calls (the first round of 500 ms ran at a third of the later ones' rate); with
 * only a few dozen warm-up calls the early rounds dragged the median down and made the
 * spread ±50-70 %.
 */
const WARM_UP_CALLS = 3_000;

registerBalancers();

const clients = new Map<string, { ping: Ping; close(): void }>();

async function setup() {
  // The servers run in a child process: in this one they shared the clients' event loop
  // and their work was timed as the policy's.
  const child = spawn(process.execPath, [...process.execArgv, SERVERS], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const [line] = (await once(child.stdout!, 'data')) as [Buffer];
  const ports = String(line).trim().split(',');
  const target = `ipv4:${ports.map((p) => `127.0.0.1:${p}`).join(',')}`;
  const roundRobin = {
    'grpc.service_config': JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }] }),
  };
  for (const [name, options] of [
    ['round_robin', roundRobin],
    ['girder_swrr', girderChannelOptions('girder_swrr')],
  ] as const) {
    const client = new PingClient(
      target,
      grpc.credentials.createInsecure(),
      options,
    ) as unknown as {
      ping: Ping;
      close(): void;
    };
    clients.set(name, client);
  }
  // Warm both channels alike (connections to every server, and the call path's JIT).
  for (let i = 0; i < WARM_UP_CALLS; i++) {
    await call('round_robin');
    await call('girder_swrr');
  }
  return async () => {
    for (const client of clients.values()) client.close();
    clients.clear();
    child.stdin!.end();
    await once(child, 'exit');
  };
}

function call(policy: string): Promise<void> {
  const client = clients.get(policy)!;
  return new Promise((resolve, reject) =>
    client.ping(EMPTY, (err) => (err ? reject(err) : resolve())),
  );
}

const sequential =
  (policy: string): Runner =>
  async (n) => {
    for (let i = 0; i < n; i++) await call(policy);
  };

const IN_FLIGHT = 100;
/** Exactly `n` calls, by up to IN_FLIGHT callers sharing one counter. */
const concurrent =
  (policy: string): Runner =>
  async (n) => {
    let left = n;
    const lane = async () => {
      while (left > 0) {
        left--;
        await call(policy);
      }
    };
    const lanes: Promise<void>[] = [];
    for (let l = 0; l < Math.min(IN_FLIGHT, n); l++) lanes.push(lane());
    await Promise.all(lanes);
  };

export const suite: BenchSuite = {
  name: 'grpc (policy overhead)',
  cases: [
    {
      name: 'unary calls, sequential: girder_swrr vs round_robin (3 loopback servers)',
      setup,
      girder: sequential('girder_swrr'),
      peers: [{ name: 'grpc-js round_robin', run: sequential('round_robin') }],
    },
    {
      name: `unary calls, ${IN_FLIGHT} in flight: girder_swrr vs round_robin (3 loopback servers)`,
      setup,
      girder: concurrent('girder_swrr'),
      peers: [{ name: 'grpc-js round_robin', run: concurrent('round_robin') }],
    },
  ],
};
