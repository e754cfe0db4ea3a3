// The SessionStore contract against a real 3-master Redis Cluster through ioredis Cluster.
import { describeBackends } from '../harness/index.js';
import { describeSessionContract, redisSessionBackend } from './session-store.contract.js';

describeBackends([redisSessionBackend('redis-cluster')], describeSessionContract);
