import { redisScript } from 'girder/core';
import { fixedWindow, type RateLimiter, redisStore } from 'girder/ratelimit';
import type { Redis } from 'ioredis';
import { RateLimiterRedis } from 'rate-limiter-flexible';
import type { BenchSuite, Runner } from '../harness.js';
import { benchRedis } from '../redis-client.js';

/**
 * Redis-backed limiters on ONE shared ioredis client with `enableAutoPipelining`, the
 * way a busy server runs them: decisions are concurrent (LANES loops, each issuing
 * batches of BATCH parallel calls), so auto-pipelining packs them into shared writes.
 * Three subjects, measured in the same run:
 * - girder `fixedWindow` on `redisStore`;
 * - rate-limiter-flexible `RateLimiterRedis` (same client, same key space);
 * - the ceiling: a bare EVALSHA of a trivial script (`return 1`) per call;
 * and two diagnostics: girder's own script through the bare client (the Redis-side
 * floor of a real decision) and girder with the per-call deadline turned off.
 * Uses REDIS_URL when set, otherwise starts a throwaway redis-server.
 */
// The script girder sends for this configuration: the algorithm's body behind core's
// deadline prologue (EVALSHA needs only its source's SHA1).
const SCRIPT_SOURCE = () =>
  redisScript((girder as unknown as { alg: { script: { source: string } } }).alg.script.source)
    .source;
// A deadline an hour ahead: the prologue reads the server clock, as on every real call.
const FAR_DEADLINE = String(Date.now() + 3_600_000);

const KEYS = Array.from({ length: 1_000 }, (_, i) => `user:${i}`);
const HIGH = 1_000_000_000;
const BATCH = 64;
const LANES = 4;

let client: Redis;
let girder: RateLimiter;
let girderNoTimeout: RateLimiter;
let rlf: RateLimiterRedis;
let trivialSha = '';
let scriptSha = '';

const concurrent =
  (decide: (key: string) => Promise<unknown>): Runner =>
  async (n) => {
    let issued = 0;
    const lane = async () => {
      const batch: Promise<unknown>[] = new Array(BATCH);
      while (issued < n) {
        const size = Math.min(BATCH, n - issued);
        const base = issued;
        issued += size;
        batch.length = size;
        for (let j = 0; j < size; j++) batch[j] = decide(KEYS[(base + j) % 1_000]!);
        await Promise.all(batch);
      }
    };
    await Promise.all(Array.from({ length: LANES }, lane));
  };

const rlfRunner = concurrent((key) => rlf.consume(key));
const ceilingRunner = concurrent((key) =>
  client.evalsha(trivialSha, 1, `{bench:trivial:${key}}`, '1'),
);

async function setup() {
  const redis = await benchRedis();
  client = redis.client;
  girder = fixedWindow({
    limit: HIGH,
    windowMs: 60_000,
    store: redisStore(client, { prefix: 'bench:girder' }),
  });
  girderNoTimeout = fixedWindow({
    limit: HIGH,
    windowMs: 60_000,
    store: redisStore(client, { prefix: 'bench:girder0', timeoutMs: 0 }),
  });
  rlf = new RateLimiterRedis({
    storeClient: client,
    points: HIGH,
    duration: 60,
    keyPrefix: 'bench:rlf',
  });
  trivialSha = (await client.script('LOAD', 'return 1')) as string;
  await girder.limit('warm-up'); // loads girder's script into the server's cache
  scriptSha = (await client.script('LOAD', SCRIPT_SOURCE())) as string;
  return () => redis.stop();
}

export const suite: BenchSuite = {
  name: 'ratelimit (redis)',
  cases: [
    {
      name: `fixedWindow, 1,000 keys, ${LANES}x${BATCH} in flight`,
      setup,
      girder: concurrent((key) => girder.limit(key)),
      peers: [
        { name: 'rate-limiter-flexible RateLimiterRedis', run: rlfRunner },
        { name: 'bare EVALSHA `return 1` (ceiling)', run: ceilingRunner },
        // Diagnostic: girder's own fixed-window script through the bare client, i.e. the
        // Redis-side cost of a real decision without any girder JavaScript around it.
        {
          name: "bare EVALSHA of girder's fixed-window script",
          run: concurrent((key) =>
            client.evalsha(
              scriptSha,
              1,
              `{bench:girder-raw:fw:${HIGH}:60000:${key}}`,
              '1',
              FAR_DEADLINE,
            ),
          ),
        },
        // What the per-call deadline (redisStore timeoutMs, default 1 000) costs.
        {
          name: 'girder fixedWindow, timeoutMs: 0',
          run: concurrent((key) => girderNoTimeout.limit(key)),
        },
      ],
    },
  ],
};
