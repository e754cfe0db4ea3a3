// The lock contract through an ioredis Cluster on a real 3-master Redis Cluster.
import { describeBackends } from '../harness/index.js';
import { describeLockContract } from './contract.js';
import { redisLockBackend } from './redis-env.js';

describeBackends([redisLockBackend('redis-cluster')], describeLockContract);
