// One store-contract shape for every module: a spec table (the module's contract suite)
// run against named backends (memory, redis, redis-cluster). Each backend opens what it
// needs (servers, clients) once per suite and closes it afterwards.
import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe } from 'vitest';
import { sharedRedisCluster } from './redis-cluster.js';
import { sharedRedisUrl } from './shared.js';

/** The backends every store contract runs against. */
export type BackendName = 'memory' | 'redis' | 'redis-cluster';

/** A backend of a contract suite: how to open and close its environment `E`. */
export interface ContractBackend<E> {
  /** Backend name shown in test titles. */
  readonly name: BackendName | (string & {});
  /** Open the environment before the suite's first test. */
  open(): E | Promise<E>;
  /** Close it after the suite's last test. */
  close?(env: E): void | Promise<void>;
}

/**
 * Run `suite` once per backend, each inside `describe(<backend name>)`. `env()` returns
 * the opened environment; call it inside tests or hooks, not while collecting.
 */
export function describeBackends<E>(
  backends: ReadonlyArray<ContractBackend<E>>,
  suite: (backend: string, env: () => E) => void,
): void {
  for (const backend of backends) {
    describe(`[${backend.name}]`, () => {
      let opened: E | undefined;
      let ready = false;
      beforeAll(async () => {
        opened = await backend.open();
        ready = true;
      });
      afterAll(async () => {
        if (ready) await backend.close?.(opened as E);
      });
      suite(backend.name, () => {
        if (!ready) throw new Error(`backend ${backend.name} is not open yet`);
        return opened as E;
      });
    });
  }
}

/** An ioredis client on one of the Redis backends. */
export type RedisBackendClient = Redis | Cluster;

/**
 * Open an auto-pipelined ioredis client on the shared single server (`redis`) or the
 * shared 3-master cluster (`redis-cluster`, started on first use in this process).
 */
export async function openRedisClient(
  name: 'redis' | 'redis-cluster',
): Promise<RedisBackendClient> {
  if (name === 'redis') return new Redis(sharedRedisUrl(), { enableAutoPipelining: true });
  const cluster = await sharedRedisCluster();
  const client = new Cluster([...cluster.startupNodes], { enableAutoPipelining: true });
  await new Promise<void>((resolve, reject) => {
    client.once('ready', () => resolve());
    client.once('error', reject);
  });
  return client;
}
