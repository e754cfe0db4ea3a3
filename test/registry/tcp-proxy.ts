// A loopback TCP proxy a test can cut and restore, to disconnect one client from etcd
// while others keep talking to it.
import { createServer, type Server, type Socket } from 'node:net';
import { freePort } from '../harness/index.js';

export interface TcpProxy {
  readonly endpoint: string;
  /** Drop every connection and refuse new ones. */
  cut(): Promise<void>;
  /** Accept connections again, on the same port. */
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function tcpProxy(targetPort: number): Promise<TcpProxy> {
  const port = await freePort();
  const sockets = new Set<Socket>();
  let server: Server | undefined;

  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const s = createServer((client) => {
        const upstream = new (client.constructor as typeof Socket)();
        upstream.connect(targetPort, '127.0.0.1');
        for (const sock of [client, upstream]) {
          sockets.add(sock);
          sock.on('close', () => sockets.delete(sock));
          sock.on('error', () => {
            client.destroy();
            upstream.destroy();
          });
        }
        client.pipe(upstream);
        upstream.pipe(client);
      });
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => resolve());
      server = s;
    });

  const stop = () =>
    new Promise<void>((resolve) => {
      for (const sock of sockets) sock.destroy();
      sockets.clear();
      if (server === undefined) resolve();
      else server.close(() => resolve());
      server = undefined;
    });

  await listen();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    cut: stop,
    restore: listen,
    close: stop,
  };
}
