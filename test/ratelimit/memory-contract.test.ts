import { describeBackends } from '../harness/index.js';
import { describeContract, memoryBackend } from './contract.js';

describeBackends([memoryBackend()], describeContract);
