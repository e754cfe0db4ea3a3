import { ConstantBackoff, retry as cockatielRetry, fallback, handleAll } from 'cockatiel';
import { constant } from 'girder/core';
import { failover, retry, withRetry } from 'girder/failover';
import type { BenchSuite } from '../harness.js';

interface Svc {
  get(id: number): Promise<number>;
}
const ok: Svc = { get: async (id) => id };
const broken: Svc = {
  get: async () => {
    throw new Error('down');
  },
};

let sink = 0;

const orderedOk = failover([ok, broken]);
const orderedFailing = failover([broken, ok]);
const roundRobin = failover([ok, ok, ok], { strategy: 'round-robin' });
const cockatielFallback = fallback(handleAll, () => -1);

const noWait = constant({ delayMs: 0 });
const retryOptions = { attempts: 3, backoff: noWait };
const cockatielRetryPolicy = cockatielRetry(handleAll, {
  maxAttempts: 2,
  backoff: new ConstantBackoff(0),
});
const retried = withRetry(ok, retryOptions);
const flaky = (): Svc => {
  let calls = 0;
  return {
    get: async (id) => {
      if (calls++ % 2 === 0) throw new Error('blip');
      return id;
    },
  };
};
const flakyForGirder = withRetry(flaky(), retryOptions);
const flakyForCockatiel = flaky();

/**
 * Per-call overhead of the failover decorators and of retry around an immediately
 * resolving call. cockatiel has no multi-target failover; its fallback and retry
 * policies are the closest a user would otherwise reach for.
 */
export const suite: BenchSuite = {
  name: 'failover',
  cases: [
    {
      name: 'first target answers (ordered failover vs cockatiel fallback vs direct call)',
      girder: async (n) => {
        for (let i = 0; i < n; i++) sink += await orderedOk.get(i);
      },
      peers: [
        {
          name: 'cockatiel fallback',
          run: async (n) => {
            for (let i = 0; i < n; i++) sink += await cockatielFallback.execute(() => ok.get(i));
          },
        },
        {
          name: 'direct call',
          run: async (n) => {
            for (let i = 0; i < n; i++) sink += await ok.get(i);
          },
        },
      ],
    },
    {
      name: 'round-robin over three targets',
      girder: async (n) => {
        for (let i = 0; i < n; i++) sink += await roundRobin.get(i);
      },
      peers: [
        {
          name: 'cockatiel fallback',
          run: async (n) => {
            for (let i = 0; i < n; i++) sink += await cockatielFallback.execute(() => ok.get(i));
          },
        },
      ],
    },
    {
      name: 'first target fails, second answers',
      girder: async (n) => {
        for (let i = 0; i < n; i++) sink += await orderedFailing.get(i);
      },
      peers: [
        {
          name: 'cockatiel fallback',
          run: async (n) => {
            for (let i = 0; i < n; i++) {
              sink += await cockatielFallback.execute(() => broken.get(i));
            }
          },
        },
      ],
    },
    {
      name: 'retry, first attempt succeeds',
      girder: async (n) => {
        for (let i = 0; i < n; i++) sink += await retry(() => ok.get(i), retryOptions);
      },
      peers: [
        {
          name: 'cockatiel retry',
          run: async (n) => {
            for (let i = 0; i < n; i++) sink += await cockatielRetryPolicy.execute(() => ok.get(i));
          },
        },
      ],
    },
    {
      name: 'withRetry decorator, first attempt succeeds',
      girder: async (n) => {
        for (let i = 0; i < n; i++) sink += await retried.get(i);
      },
      peers: [
        {
          name: 'cockatiel retry',
          run: async (n) => {
            for (let i = 0; i < n; i++) sink += await cockatielRetryPolicy.execute(() => ok.get(i));
          },
        },
      ],
    },
    {
      name: 'withRetry decorator, every call fails once then succeeds',
      girder: async (n) => {
        for (let i = 0; i < n; i++) sink += await flakyForGirder.get(i);
      },
      peers: [
        {
          name: 'cockatiel retry',
          run: async (n) => {
            for (let i = 0; i < n; i++) {
              sink += await cockatielRetryPolicy.execute(() => flakyForCockatiel.get(i));
            }
          },
        },
      ],
    },
  ],
};

export const sinkValue = () => sink;
