// Three loopback Ping servers in a process of their own for policy.bench.ts, so the
// bench process runs only the clients (where the load-balancing policy lives) and the
// servers' work neither shares its event loop nor lands in its timings. Prints the
// ports on one line; exits when stdin closes.
import * as grpc from '@grpc/grpc-js';
import { pingDefinition } from './ping.js';

const EMPTY = Buffer.alloc(0);
const servers: grpc.Server[] = [];
const ports: number[] = [];
for (let i = 0; i < 3; i++) {
  const server = new grpc.Server();
  server.addService(pingDefinition, {
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
process.stdout.write(`${ports.join(',')}\n`);
process.stdin.resume();
process.stdin.on('end', () => {
  for (const server of servers) server.forceShutdown();
  process.exit(0);
});
