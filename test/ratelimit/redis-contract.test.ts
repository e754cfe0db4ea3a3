import { describeBackends } from '../harness/index.js';
import { describeContract, redisBackend } from './contract.js';

describeBackends([redisBackend('redis')], describeContract);
