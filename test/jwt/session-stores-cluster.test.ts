// The SessionStore contract against a real 3-master Redis Cluster through ioredis Cluster.
import type { Cluster } from 'ioredis';
import { afterAll } from 'vitest';
import { redisSessionStore } from '../../src/jwt/index.js';
import { openRedisClient, uniquePrefix } from '../harness/index.js';
import { sessionStoreContract } from './session-store.contract.js';

const cluster = (await openRedisClient('redis-cluster')) as Cluster;
afterAll(() => cluster.disconnect());

sessionStoreContract('redis cluster', () =>
  redisSessionStore(cluster, { prefix: uniquePrefix('jwt-cluster') }),
);
sessionStoreContract('redis cluster with cache', () =>
  redisSessionStore(cluster, { prefix: uniquePrefix('jwt-cluster-cached'), cache: { validMs: 0 } }),
);
