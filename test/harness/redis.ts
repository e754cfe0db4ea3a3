import { connect } from 'node:net';
import { type ServiceHandle, type ServiceOptions, startService } from './service.js';

export interface RedisServer extends ServiceHandle {
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
}

export interface RedisOptions extends ServiceOptions {
  /** redis-server executable. Default `redis-server` from PATH. */
  command?: string;
}

/** Starts a dedicated, throwaway redis-server (no persistence) on a free loopback port. */
export async function startRedis(options: RedisOptions = {}): Promise<RedisServer> {
  const service = await startService(
    {
      name: 'redis-server',
      command: options.command ?? 'redis-server',
      portCount: 1,
      args: ([port], dataDir) => [
        ...['--port', String(port), '--bind', '127.0.0.1'],
        ...['--save', '', '--appendonly', 'no', '--dir', dataDir],
        ...['--daemonize', 'no', '--protected-mode', 'no'],
      ],
      isReady: ([port]) => answersPing(port!),
    },
    options,
  );
  return Object.assign(service, { url: `redis://127.0.0.1:${service.port}` });
}

/** True when a raw RESP `PING` on the port gets `+PONG` (not `-LOADING`, not refused). */
export function answersPing(port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let reply = '';
    const finish = (ready: boolean): void => {
      socket.destroy();
      resolve(ready);
    };
    socket.setTimeout(timeoutMs, () => finish(false));
    socket.once('error', () => finish(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      if (reply.includes('\r\n')) finish(reply.startsWith('+PONG'));
    });
    socket.once('end', () => finish(false));
  });
}
