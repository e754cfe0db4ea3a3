// The lock contract on a real single Redis.
import { describeBackends } from '../harness/index.js';
import { describeLockContract } from './contract.js';
import { redisLockBackend } from './redis-env.js';

describeBackends([redisLockBackend('redis')], describeLockContract);
