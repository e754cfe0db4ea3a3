import { manualClock } from '../../src/core/index.js';
import { memoryStore } from '../../src/ratelimit/index.js';
import { describeContract } from './contract.js';

const clock = manualClock(1_700_000_000_000);
describeContract('memory', {
  store: () => memoryStore({ sweepIntervalMs: 0 }),
  clock,
  advance: (ms) => clock.advanceAsync(ms),
});
