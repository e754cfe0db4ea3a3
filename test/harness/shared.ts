import { inject } from 'vitest';

/** URL of the Redis server shared by all test files (REDIS_URL or started by global setup). */
export function sharedRedisUrl(): string {
  return inject('redisUrl');
}

/** Endpoints of the etcd shared by all test files (ETCD_ENDPOINTS or started by global setup). */
export function sharedEtcdEndpoints(): string[] {
  return inject('etcdEndpoints');
}
