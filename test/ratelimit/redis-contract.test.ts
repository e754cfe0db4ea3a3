import { Redis } from 'ioredis';
import { afterAll } from 'vitest';
import { systemClock } from '../../src/core/index.js';
import { redisStore } from '../../src/ratelimit/index.js';
import { sharedRedisUrl, uniquePrefix } from '../harness/index.js';
import { describeContract } from './contract.js';

const client = new Redis(sharedRedisUrl(), { enableAutoPipelining: true });
afterAll(() => client.disconnect());

// Real Redis, real (server) time: windows pass by sleeping.
describeContract('redis', {
  store: () => redisStore(client, { prefix: uniquePrefix('rl contract').slice(0, -1) }),
  clock: systemClock,
  advance: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
});
