// Defect 3 (issue 9): calls denied by the fallback during a Redis stall must not consume
// quota when Redis resumes. A dedicated server is frozen with SIGSTOP while decisions are
// in flight; they time out and are denied; after SIGCONT the queued scripts reach Redis
// past their deadline and must change nothing.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  concurrencyLimit,
  type Decision,
  fixedWindow,
  type LimiterOptions,
  leakyBucket,
  type RateLimiter,
  redisStore,
  slidingWindow,
  slidingWindowLog,
  tokenBucket,
} from '../../src/ratelimit/index.js';
import { type RedisServer, startRedis, uniquePrefix } from '../harness/index.js';

let server: RedisServer;
beforeAll(async () => {
  server = await startRedis();
});
afterAll(async () => {
  await server?.stop();
});

const STORE_RETRY_MS = 100;
const TIMEOUT_MS = 200;

const makers: Array<[string, (o: LimiterOptions) => RateLimiter]> = [
  ['fixedWindow', (o) => fixedWindow({ limit: 5, windowMs: 60_000, ...o })],
  ['slidingWindowLog', (o) => slidingWindowLog({ limit: 5, windowMs: 60_000, ...o })],
  ['slidingWindow', (o) => slidingWindow({ limit: 5, windowMs: 60_000, ...o })],
  ['tokenBucket', (o) => tokenBucket({ capacity: 5, refillPerSec: 0.001, ...o })],
  ['leakyBucket', (o) => leakyBucket({ ratePerSec: 0.001, maxQueueMs: 10_000_000, ...o })],
  ['concurrencyLimit', (o) => concurrencyLimit({ max: 5, ...o })],
];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('a Redis stall (SIGSTOP) costs no quota afterwards (regression: issue 9 defect 3)', () => {
  it.each(makers)(
    '%s: calls denied by the fallback during the stall leave the quota and slots untouched',
    async (_name, make) => {
      const client = new Redis(server.url, { enableAutoPipelining: true });
      client.on('error', () => {});
      const limiter = make({
        store: redisStore(client, {
          prefix: uniquePrefix('stall').slice(0, -1),
          timeoutMs: TIMEOUT_MS,
        }),
        onStoreError: 'deny',
        storeRetryMs: STORE_RETRY_MS,
      });
      const sources: string[] = [];
      limiter.events.on('decision', (e) => sources.push(e.source));
      try {
        const first = await limiter.limit('k'); // also learns the server clock offset
        expect(first.allowed).toBe(true);
        const before = await limiter.peek('k');

        process.kill(server.pid!, 'SIGSTOP');
        let stalled: Decision[];
        try {
          // Sent together while the limiter still trusts the store: all reach the socket.
          stalled = await Promise.all(Array.from({ length: 4 }, () => limiter.limit('k')));
          await sleep(TIMEOUT_MS); // well past every deadline
        } finally {
          process.kill(server.pid!, 'SIGCONT');
        }
        expect(stalled.every((d) => !d.allowed)).toBe(true);
        expect(sources.slice(-4)).toEqual(Array(4).fill('fallback'));

        await client.ping(); // answered after the queued scripts ran
        await sleep(STORE_RETRY_MS + 20);
        const after = await limiter.peek('k');
        expect(after.remaining).toBe(before.remaining);
        expect(after.allowed).toBe(true);
        // And the store is used again, with the quota the caller saw.
        const next = await limiter.limit('k');
        expect(next).toMatchObject({ allowed: true, remaining: before.remaining - 1 });
        await (next as { release?: () => Promise<void> }).release?.();
        await (first as { release?: () => Promise<void> }).release?.();
      } finally {
        client.disconnect();
      }
    },
  );
});
