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

export const suite: BenchSuite = {
  name: 'ratelimit (memory)',
  cases: [
    {
      name: 'fixedWindow vs RateLimiterMemory, 1,000 keys',
      girder: run((key) => girderFixed.limit(key)),
      peers: [{ name: 'rate-limiter-flexible RateLimiterMemory', run: rlfRunner }],
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
