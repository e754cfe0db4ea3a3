// The contract every algorithm x store combination must honour, run through the harness'
// store-contract helper: memory on a manual clock, Redis and Redis Cluster on real time.
import { describe, expect, it } from 'vitest';
import { type Clock, manualClock, systemClock } from '../../src/core/index.js';
import {
  concurrencyLimit,
  type Decision,
  fixedWindow,
  type LimiterOptions,
  leakyBucket,
  memoryStore,
  type RateLimiter,
  type RateLimitStore,
  redisStore,
  slidingWindow,
  slidingWindowLog,
  tokenBucket,
} from '../../src/ratelimit/index.js';
import {
  type ContractBackend,
  openRedisClient,
  type RedisBackendClient,
  uniquePrefix,
} from '../harness/index.js';

export interface ContractEnv {
  /** A fresh store (isolated from other tests). */
  store(): RateLimitStore;
  clock: Clock;
  /** Let `ms` of limiter time pass. */
  advance(ms: number): Promise<void>;
}

export interface AlgorithmSpec {
  name: string;
  /** How many cost-1 calls in a row are allowed from a fresh key. */
  quota: number;
  make(options: LimiterOptions): RateLimiter;
  /** Whether quota comes back with time (false: concurrency, which needs releases). */
  timeBased: boolean;
  /** Upper bound of a denial's retryAfterMs right after the quota is spent. Default 1 000. */
  maxRetryMs?: number;
}

export const specs: AlgorithmSpec[] = [
  {
    name: 'fixedWindow',
    quota: 5,
    timeBased: true,
    make: (o) => fixedWindow({ limit: 5, windowMs: 1_000, ...o }),
  },
  {
    name: 'slidingWindowLog',
    quota: 5,
    timeBased: true,
    make: (o) => slidingWindowLog({ limit: 5, windowMs: 1_000, ...o }),
  },
  {
    name: 'slidingWindow',
    quota: 5,
    timeBased: true,
    // Calls spent now still weigh on the next window: 5 x (1 - f) + 1 <= 5 needs f >= 0.2.
    maxRetryMs: 1_200,
    make: (o) => slidingWindow({ limit: 5, windowMs: 1_000, ...o }),
  },
  {
    name: 'tokenBucket',
    quota: 5,
    timeBased: true,
    make: (o) => tokenBucket({ capacity: 5, refillPerSec: 5, ...o }),
  },
  {
    name: 'leakyBucket',
    quota: 5,
    timeBased: true,
    make: (o) => leakyBucket({ ratePerSec: 5, maxQueueMs: 800, ...o }),
  },
  {
    name: 'concurrencyLimit',
    quota: 5,
    timeBased: false,
    make: (o) => concurrencyLimit({ max: 5, ...o }),
  },
];

async function drain(limiter: RateLimiter, key: string, calls: number): Promise<Decision[]> {
  const out: Decision[] = [];
  for (let i = 0; i < calls; i++) out.push(await limiter.limit(key));
  return out;
}

const release = async (decisions: Decision[]) => {
  for (const d of decisions) await (d as { release?: () => Promise<void> }).release?.();
};

/** The memory backend: a fresh memory store per limiter, on a manual clock. */
export function memoryBackend(): ContractBackend<ContractEnv> {
  return {
    name: 'memory',
    open: () => {
      const clock = manualClock(1_700_000_000_000);
      return {
        store: () => memoryStore({ sweepIntervalMs: 0 }),
        clock,
        advance: (ms) => clock.advanceAsync(ms),
      };
    },
  };
}

/** A Redis backend (single server or cluster): real server time, windows pass by sleeping. */
export function redisBackend(
  name: 'redis' | 'redis-cluster',
): ContractBackend<ContractEnv & { client: RedisBackendClient }> {
  return {
    name,
    open: async () => {
      const client = await openRedisClient(name);
      return {
        client,
        store: () => redisStore(client, { prefix: uniquePrefix(`rl ${name}`).slice(0, -1) }),
        clock: systemClock,
        advance: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
      };
    },
    close: (env) => env.client.disconnect(),
  };
}

export function describeContract(storeName: string, envOf: () => ContractEnv): void {
  for (const spec of specs) {
    describe(`${spec.name} on ${storeName}`, () => {
      const make = (extra: LimiterOptions = {}) =>
        spec.make({ store: envOf().store(), clock: envOf().clock, ...extra });

      it('allows exactly its quota, then denies with a retry hint', async () => {
        const limiter = make();
        const decisions = await drain(limiter, 'k', spec.quota + 1);
        const allowed = decisions.slice(0, spec.quota);
        expect(allowed.every((d) => d.allowed)).toBe(true);
        expect(allowed.map((d) => d.remaining)).toEqual(
          Array.from({ length: spec.quota }, (_, i) => spec.quota - 1 - i),
        );
        const denied = decisions[spec.quota]!;
        expect(denied.allowed).toBe(false);
        expect(denied.limit).toBe(spec.quota);
        expect(denied.remaining).toBe(0);
        expect(denied.retryAfterMs).toBeGreaterThan(0);
        expect(denied.retryAfterMs).toBeLessThanOrEqual(spec.maxRetryMs ?? 1_000);
        for (const d of decisions) {
          for (const field of ['remaining', 'resetAfterMs', 'retryAfterMs', 'delayMs'] as const) {
            expect(Number.isInteger(d[field]) && d[field] >= 0).toBe(true);
          }
        }
        await release(decisions);
      });

      it('keeps keys independent', async () => {
        const limiter = make();
        const a = await drain(limiter, 'a', spec.quota);
        expect((await limiter.limit('a')).allowed).toBe(false);
        const b = await limiter.limit('b');
        expect(b.allowed).toBe(true);
        expect(b.remaining).toBe(spec.quota - 1);
        await release([...a, b]);
      });

      it('gives quota back after retryAfterMs (or release)', async () => {
        const limiter = make();
        const decisions = await drain(limiter, 'k', spec.quota + 1);
        const denied = decisions[spec.quota]!;
        if (spec.timeBased) await envOf().advance(denied.retryAfterMs + 20);
        else await release(decisions.slice(0, 1));
        const again = await limiter.limit('k');
        expect(again.allowed).toBe(true);
        await release([...decisions, again]);
      });

      it('peek consumes nothing', async () => {
        const limiter = make();
        const fresh = await limiter.peek('k');
        expect(fresh.allowed).toBe(true);
        expect(fresh.remaining).toBe(spec.quota);
        const first = await limiter.limit('k');
        const peeked = await limiter.peek('k');
        const peekedAgain = await limiter.peek('k');
        expect(peeked.remaining).toBe(spec.quota - 1);
        expect(peekedAgain.remaining).toBe(spec.quota - 1);
        await release([first]);
      });

      it('cost consumes several units at once', async () => {
        const limiter = make();
        const big = await limiter.limit('k', { cost: spec.quota - 1 });
        expect(big.allowed).toBe(true);
        expect(big.remaining).toBe(1);
        // A leaky bucket admits by when a call's turn starts, so only others pay for cost.
        if (spec.name !== 'leakyBucket') {
          const tooBig = await limiter.limit('k', { cost: 2 });
          expect(tooBig.allowed).toBe(false);
        }
        const fits = await limiter.limit('k', { cost: 1 });
        expect(fits.allowed).toBe(true);
        await release([big, fits]);
      });

      it('reset gives the full quota back', async () => {
        const limiter = make();
        const decisions = await drain(limiter, 'k', spec.quota);
        expect((await limiter.limit('k')).allowed).toBe(false);
        await limiter.reset('k');
        const after = await limiter.limit('k');
        expect(after.allowed).toBe(true);
        expect(after.remaining).toBe(spec.quota - 1);
        await release([...decisions, after]);
      });

      it('wait resolves once the call is allowed', async () => {
        const limiter = make();
        const decisions = await drain(limiter, 'k', spec.quota);
        const waiting = limiter.wait('k');
        // A release racing the first denial is seen at the next poll (pollIntervalMs).
        if (!spec.timeBased) await release(decisions.slice(0, 1));
        await envOf().advance((spec.maxRetryMs ?? 1_000) + 100);
        const d = await waiting;
        expect(d.allowed).toBe(true);
        await release([...decisions, d]);
      });

      it('wait rejects at once with RATE_LIMITED when maxWaitMs is too short', async () => {
        const limiter = make();
        const decisions = await drain(limiter, 'k', spec.quota);
        await expect(limiter.wait('k', { maxWaitMs: 0 })).rejects.toMatchObject({
          code: 'RATE_LIMITED',
          decision: { allowed: false },
        });
        await release(decisions);
      });

      it('rejects an empty key and unusable costs with INVALID_ARGUMENT', async () => {
        const limiter = make();
        await expect(limiter.limit('')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
        await expect(limiter.peek('')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
        await expect(limiter.wait('')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
        await expect(limiter.reset('')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
        for (const cost of [-1, 0, Number.NaN, Number.POSITIVE_INFINITY]) {
          await expect(limiter.limit('k', { cost })).rejects.toMatchObject({
            code: 'INVALID_ARGUMENT',
            argument: 'cost',
          });
        }
        if (spec.name !== 'leakyBucket') {
          await expect(limiter.limit('k', { cost: spec.quota + 1 })).rejects.toMatchObject({
            code: 'INVALID_ARGUMENT',
            argument: 'cost',
          });
        }
      });

      it('emits a decision event per call', async () => {
        const limiter = make();
        const seen: Array<{ key: string; allowed: boolean; source: string }> = [];
        limiter.events.on('decision', (e) =>
          seen.push({ key: e.key, allowed: e.decision.allowed, source: e.source }),
        );
        const decisions = await drain(limiter, 'k', spec.quota + 1);
        await limiter.peek('k'); // not a decision
        // One event per decision, saying what the caller was told. (Whether the last call
        // is denied is the quota test's business: on a real clock and a slow machine a
        // time-based limiter may have refilled by then.)
        expect(seen).toEqual(
          decisions.map((d) => ({ key: 'k', allowed: d.allowed, source: 'store' })),
        );
        await release(decisions);
      });
    });
  }
}
