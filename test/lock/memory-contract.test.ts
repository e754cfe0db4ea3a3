// The lock contract on the in-process backend (real time; see memory.test.ts for the
// manual-clock tests).
import { memoryLock } from '../../src/lock/index.js';
import { describeBackends } from '../harness/index.js';
import { describeLockContract, type LockContractEnv } from './contract.js';

describeBackends<LockContractEnv>(
  [
    {
      name: 'memory',
      open: () => ({
        // One table: every "holder" shares the locker, as workers of one process would.
        lockers(count, options) {
          const locker = memoryLock(options);
          return Array.from({ length: count }, () => locker);
        },
        make: (options) => memoryLock(options as never),
        contenders: { kind: 'in-process' },
      }),
    },
  ],
  describeLockContract,
);
