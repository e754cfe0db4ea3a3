// The ratelimit contract through an ioredis Cluster on a real 3-master Redis Cluster.
import { describeBackends } from '../harness/index.js';
import { describeContract, redisBackend } from './contract.js';

describeBackends([redisBackend('redis-cluster')], describeContract);
