import { describeQueueContract } from './contract.js';
import { streamsBackend } from './streams-backend.js';

describeQueueContract([streamsBackend('redis')]);
