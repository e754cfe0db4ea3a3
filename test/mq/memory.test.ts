import { memoryQueue } from '../../src/mq/index.js';
import { describeQueueContract } from './contract.js';

describeQueueContract([
  {
    name: 'memory',
    open: () => ({
      makeQueue: ({ claimIdleMs }) => memoryQueue({ claimIdleMs, blockMs: 50 }),
    }),
    claims: true,
  },
]);
