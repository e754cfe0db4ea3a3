import type { TestProject } from 'vitest/node';
import { ensureBinary } from './binaries.js';
import { startEtcd } from './etcd.js';
import { startRedis } from './redis.js';

interface Shared<T> {
  value: T;
  stop(): Promise<void>;
}

const external = <T>(value: T): Shared<T> => ({ value, stop: async () => {} });

/**
 * Vitest global setup: one Redis and one etcd shared by every test file. Uses REDIS_URL /
 * ETCD_ENDPOINTS when set, otherwise starts throwaway servers (installing them if allowed).
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const redisUrl = process.env.REDIS_URL?.trim();
  const etcdEndpoints = process.env.ETCD_ENDPOINTS?.split(',')
    .map((endpoint) => endpoint.trim())
    .filter(Boolean);

  // One at a time: two concurrent apt-get runs would fight over the dpkg lock.
  if (!redisUrl) {
    await ensureBinary({
      command: 'redis-server',
      debianPackage: 'redis-server',
      alternativeEnv: 'REDIS_URL',
    });
  }
  if (!etcdEndpoints?.length) {
    await ensureBinary({
      command: 'etcd',
      debianPackage: 'etcd-server',
      alternativeEnv: 'ETCD_ENDPOINTS',
    });
  }

  const [redis, etcd] = await Promise.allSettled([
    redisUrl
      ? external(redisUrl)
      : startRedis().then((server) => ({ value: server.url, stop: () => server.stop() })),
    etcdEndpoints?.length
      ? external(etcdEndpoints)
      : startEtcd().then((server) => ({ value: server.endpoints, stop: () => server.stop() })),
  ]);
  if (redis.status === 'rejected' || etcd.status === 'rejected') {
    await Promise.all([redis, etcd].map((r) => (r.status === 'fulfilled' ? r.value.stop() : null)));
    throw redis.status === 'rejected' ? redis.reason : (etcd as PromiseRejectedResult).reason;
  }

  project.provide('redisUrl', redis.value.value);
  project.provide('etcdEndpoints', etcd.value.value);
  return async () => {
    await Promise.all([redis.value.stop(), etcd.value.stop()]);
  };
}
