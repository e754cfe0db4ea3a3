import * as grpc from '@grpc/grpc-js';
import { girderChannelOptions, registerBalancers } from 'girder/grpc';
import type { BenchSuite, Runner } from '../harness.js';

/**
 * Per-call overhead of a girder policy against grpc-js's built-in round_robin: unary
 * calls to three loopback servers (equal weights), both channels on the same
 * `ipv4:` target so only the load-balancing policy differs. girder_swrr adds the SWRR
 * pick plus the call-started/ended hooks that time each call for `report()`.
 */
const identity = (b: Buffer) => b;
const definition = {
  ping: {
    path: '/girder.bench.Ping/Ping',
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
} satisfies grpc.ServiceDefinition;
const PingClient = grpc.makeGenericClientConstructor(definition, 'Ping');
type Ping = (req: Buffer, callback: (err: grpc.ServiceError | null) => void) => void;
const EMPTY = Buffer.alloc(0);

registerBalancers();

const servers: grpc.Server[] = [];
const clients = new Map<string, { ping: Ping; close(): void }>();

async function setup() {
  const ports: number[] = [];
  for (let i = 0; i < 3; i++) {
    const server = new grpc.Server();
    server.addService(definition, {
      ping: (_call: unknown, callback: grpc.sendUnaryData<Buffer>) => callback(null, EMPTY),
    });
    ports.push(
      await new Promise<number>((resolve, reject) =>
        server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) =>
          err ? reject(err) : resolve(port),
        ),
      ),
    );
    servers.push(server);
  }
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
    // Warm up until every server has a connection.
    for (let i = 0; i < 30; i++) await call(name);
  }
  return () => {
    for (const client of clients.values()) client.close();
    for (const server of servers.splice(0)) server.forceShutdown();
    clients.clear();
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
