import { fixedWindow, slidingWindow, tokenBucket } from 'girder/ratelimit';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import type { BenchSuite, Runner } from '../harness.js';

/**
 * In-process limiters over 1,000 keys, one decision at a time (each awaited, as a
 * request handler would). Limits are high so every call is allowed on both sides:
 * rate-limiter-flexible rejects its promise on denial, which would make it look slower.
 */
const KEYS = Array.from({ length: 1_000 }, (_, i) => `user:${i}`);
const HIGH = 1_000_000_000;

const girderFixed = fixedWindow({ limit: HIGH, windowMs: 60_000 });
const girderSliding = slidingWindow({ limit: HIGH, windowMs: 60_000 });
const girderBucket = tokenBucket({ capacity: HIGH, refillPerSec: HIGH });
const rlf = new RateLimiterMemory({ points: HIGH, duration: 60 });

let sink = 0;
const run =
  (decide: (key: string) => Promise<unknown>): Runner =>
  async (n) => {
    for (let i = 0; i < n; i++) {
      if (await decide(KEYS[i % 1_000]!)) sink++;
    }
  };

const rlfRunner = run((key) => rlf.consume(key));

/**
 * 200 async callers at once (as 200 in-flight requests would be), each awaiting its own
 * decisions in turn, over the same 1,000 keys: what a busy server sees, where promise
 * and microtask overhead matter more than in the one-at-a-time case.
 */
const CALLERS = 200;
const concurrent =
  (decide: (key: string) => Promise<unknown>): Runner =>
  async (n) => {
    const per = Math.max(1, Math.ceil(n / CALLERS));
    const caller = async (c: number) => {
      for (let i = 0; i < per; i++) {
        if (await decide(KEYS[(c * 5 + i) % 1_000]!)) sink++;
      }
    };
    const callers: Promise<void>[] = [];
    for (let c = 0; c < CALLERS; c++) callers.push(caller(c));
    await Promise.all(callers);
  };
const girderFixedConcurrent = fixedWindow({ limit: HIGH, windowMs: 60_000 });
const rlfConcurrent = new RateLimiterMemory({ points: HIGH, duration: 60 });

export const suite: BenchSuite = {
  name: 'ratelimit (memory)',
  cases: [
    {
      name: 'fixedWindow vs RateLimiterMemory, 1,000 keys',
      girder: run((key) => girderFixed.limit(key)),
      peers: [{ name: 'rate-limiter-flexible RateLimiterMemory', run: rlfRunner }],
    },
    {
      name: 'fixedWindow vs RateLimiterMemory, 200 concurrent callers, 1,000 keys',
      girder: concurrent((key) => girderFixedConcurrent.limit(key)),
      peers: [
        {
          name: 'rate-limiter-flexible RateLimiterMemory',
          run: concurrent((key) => rlfConcurrent.consume(key)),
        },
      ],
    },
    {
      name: 'slidingWindow (approx.), 1,000 keys',
      girder: run((key) => girderSliding.limit(key)),
      peers: [{ name: 'rate-limiter-flexible RateLimiterMemory', run: rlfRunner }],
    },
    {
      name: 'tokenBucket, 1,000 keys',
      girder: run((key) => girderBucket.limit(key)),
      peers: [{ name: 'rate-limiter-flexible RateLimiterMemory', run: rlfRunner }],
    },
  ],
};

export const sinkValue = () => sink;
