import { createServer, type Server } from 'node:net';

/**
 * Free loopback TCP ports: bind 127.0.0.1:0, read the port the kernel picked, close.
 * All sockets are held open together so the ports are distinct (etcd needs a client and
 * a peer port). Another process may still grab a port before our server binds it;
 * `startService` retries with fresh ports when that happens.
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: count }, listenOnEphemeralPort));
  const ports = servers.map(portOf);
  await Promise.all(servers.map(close));
  return ports;
}

/** One free loopback TCP port. */
export async function freePort(): Promise<number> {
  const [port] = await freePorts(1);
  return port!;
}

function listenOnEphemeralPort(): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => resolve(server));
  });
}

function portOf(server: Server): number {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('not a TCP socket');
  return address.port;
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
