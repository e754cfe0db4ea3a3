import { get } from 'node:http';
import { type ServiceHandle, type ServiceOptions, startService } from './service.js';

export interface EtcdServer extends ServiceHandle {
  /** `['http://127.0.0.1:<client port>']` */
  readonly endpoints: string[];
  readonly peerPort: number;
}

export interface EtcdOptions extends ServiceOptions {
  /** etcd executable. Default `etcd` from PATH. */
  command?: string;
}

/**
 * Starts a dedicated single-member etcd on free loopback client and peer ports.
 * Short heartbeat/election timings make start and restart take ~0.2 s instead of ~1-2 s;
 * with one member there is nobody to lose an election to.
 */
export async function startEtcd(options: EtcdOptions = {}): Promise<EtcdServer> {
  const service = await startService(
    {
      name: 'etcd',
      command: options.command ?? 'etcd',
      portCount: 2,
      args: ([client, peer], dataDir) => {
        const clientUrl = `http://127.0.0.1:${client}`;
        const peerUrl = `http://127.0.0.1:${peer}`;
        return [
          ...['--name', 'default', '--data-dir', dataDir],
          ...['--listen-client-urls', clientUrl, '--advertise-client-urls', clientUrl],
          ...['--listen-peer-urls', peerUrl, '--initial-advertise-peer-urls', peerUrl],
          ...['--initial-cluster', `default=${peerUrl}`],
          ...['--heartbeat-interval', '10', '--election-timeout', '100'],
          ...['--logger', 'zap', '--log-level', 'error'],
        ];
      },
      isReady: ([client]) => isHealthy(client!),
    },
    options,
  );
  return Object.assign(service, {
    endpoints: [`http://127.0.0.1:${service.port}`],
    peerPort: service.ports[1]!,
  });
}

/** True when GET /health answers {"health":"true"}, i.e. the member has a leader. */
export function isHealthy(port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    // agent: false so no keep-alive socket lingers after the probe.
    const request = get({
      host: '127.0.0.1',
      port,
      path: '/health',
      agent: false,
      timeout: timeoutMs,
    });
    request.once('timeout', () => request.destroy());
    request.once('error', () => resolve(false));
    request.once('response', (response) => {
      let body = '';
      response.on('data', (chunk) => {
        body += chunk.toString();
      });
      response.once('end', () => resolve(parseHealth(body)));
      response.once('error', () => resolve(false));
    });
  });
}

function parseHealth(body: string): boolean {
  try {
    return (JSON.parse(body) as { health?: unknown }).health === 'true';
  } catch {
    return false;
  }
}
