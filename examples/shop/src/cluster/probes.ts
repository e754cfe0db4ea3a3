// Readiness probes: each resolves true once the server answers, false (never hangs or
// throws) while it does not yet.
import { get } from 'node:http';
import { connect } from 'node:net';
import pg from 'pg';

/** `+PONG` to a raw `PING` (not `-LOADING`, not refused). */
export function redisAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let reply = '';
    const finish = (ready: boolean) => {
      socket.destroy();
      resolve(ready);
    };
    socket.setTimeout(1_000, () => finish(false));
    socket.once('error', () => finish(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      if (reply.includes('\r\n')) finish(reply.startsWith('+PONG'));
    });
    socket.once('end', () => finish(false));
  });
}

/** etcd's `/health` says `"health":"true"`: the member has a leader. */
export function etcdHealthy(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const request = get({ host: '127.0.0.1', port, path: '/health', agent: false, timeout: 1_000 });
    request.once('timeout', () => request.destroy());
    request.once('error', () => resolve(false));
    request.once('response', (response) => {
      let body = '';
      response.on('data', (chunk) => {
        body += chunk.toString();
      });
      response.once('error', () => resolve(false));
      response.once('end', () => {
        try {
          resolve((JSON.parse(body) as { health?: unknown }).health === 'true');
        } catch {
          resolve(false);
        }
      });
    });
  });
}

/** PostgreSQL answers a query (it accepts TCP a little before it can). */
export async function postgresAnswers(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1_000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}
