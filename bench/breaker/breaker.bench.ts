/**
 * Per-call overhead of a circuit breaker around an immediately resolving async
 * function, closed state, girder side by side with cockatiel 3 and opossum 9 (and the
 * bare function, so `bench/breaker/overhead.ts` can turn throughput into ns/call).
 *
 * Settings are as close as the libraries allow, and generous to the peers: opossum
 * gets `timeout: false` (its default 10 s timeout arms a timer per call; girder and
 * cockatiel have none) and `rollingPercentilesEnabled: false` (girder computes no
 * latency percentiles); its window is `rollingCountTimeout: 10_000` over
 * `rollingCountBuckets: 10`, like girder's failure-rate window. opossum has no
 * consecutive-failures mode, so the consecutive case compares with its rate breaker.
 */
import { createRequire } from 'node:module';
import {
  adaptiveThrottle,
  circuitBreaker,
  consecutiveFailures,
  failureRate,
  slowCalls,
} from 'girder/breaker';
import type CircuitBreakerType from 'opossum';
import type { BenchSuite, Runner, Subject } from '../harness.js';

const require = createRequire(import.meta.url);
const cockatiel = require('cockatiel') as typeof import('cockatiel');
const CircuitBreaker = require('opossum') as typeof CircuitBreakerType;

let sink = 0;
const fn = async () => 1;

const loop =
  (call: () => Promise<number>): Runner =>
  async (n) => {
    for (let i = 0; i < n; i++) sink += await call();
  };

const bare: Subject = { name: 'bare fn', run: loop(fn) };

const opossumOptions = {
  timeout: false as const,
  rollingPercentilesEnabled: false,
  errorThresholdPercentage: 50,
  volumeThreshold: 20,
  resetTimeout: 10_000,
  rollingCountTimeout: 10_000,
  rollingCountBuckets: 10,
};
const opossum = new CircuitBreaker(fn, opossumOptions);
const opossumSubject: Subject = { name: 'opossum 9', run: loop(() => opossum.fire()) };

const {
  circuitBreaker: cockatielBreaker,
  handleAll,
  ConsecutiveBreaker,
  SamplingBreaker,
  CountBreaker,
} = cockatiel;
const cockatielConsecutive = cockatielBreaker(handleAll, {
  halfOpenAfter: 10_000,
  breaker: new ConsecutiveBreaker(5),
});
const cockatielSampling = cockatielBreaker(handleAll, {
  halfOpenAfter: 10_000,
  breaker: new SamplingBreaker({ threshold: 0.5, duration: 10_000, minimumRps: 2 }),
});
const cockatielCount = cockatielBreaker(handleAll, {
  halfOpenAfter: 10_000,
  breaker: new CountBreaker({ threshold: 0.5, size: 100, minimumNumberOfCalls: 20 }),
});

const consecutive = circuitBreaker({
  policy: consecutiveFailures({ threshold: 5 }),
  openMs: 10_000,
});
const rateTime = circuitBreaker({
  policy: failureRate({ threshold: 0.5, minimumCalls: 20, windowMs: 10_000, buckets: 10 }),
  openMs: 10_000,
});
const rateCount = circuitBreaker({
  policy: failureRate({ threshold: 0.5, minimumCalls: 20, windowSize: 100 }),
  openMs: 10_000,
});
const slow = circuitBreaker({ policy: slowCalls({ slowMs: 1_000 }), openMs: 10_000 });
const adaptive = circuitBreaker({ policy: adaptiveThrottle(), openMs: 10_000 });

const signal = new AbortController().signal;

// Open breakers, to measure refusing a call.
const openGirder = circuitBreaker({ policy: consecutiveFailures({ threshold: 1 }), openMs: 1e9 });
const openCockatiel = cockatielBreaker(handleAll, {
  halfOpenAfter: 1e9,
  breaker: new ConsecutiveBreaker(1),
});
const openOpossum = new CircuitBreaker(fn, { ...opossumOptions, resetTimeout: 1e9 });
openOpossum.open();
const boom = async () => {
  throw new Error('down');
};
await openGirder.execute(boom).catch(() => {});
await openCockatiel.execute(boom).catch(() => {});

const rejectLoop =
  (call: () => Promise<unknown>): Runner =>
  async (n) => {
    for (let i = 0; i < n; i++) {
      try {
        await call();
      } catch {
        sink++;
      }
    }
  };

export const suite: BenchSuite = {
  name: 'breaker',
  cases: [
    {
      name: 'execute, consecutive failures (closed)',
      girder: loop(() => consecutive.execute(fn)),
      peers: [
        {
          name: 'cockatiel 3',
          run: loop(() => cockatielConsecutive.execute(fn)),
        },
        opossumSubject,
        bare,
      ],
    },
    {
      name: 'execute, failure rate over 10 s (closed)',
      girder: loop(() => rateTime.execute(fn)),
      peers: [
        { name: 'cockatiel 3', run: loop(() => cockatielSampling.execute(fn)) },
        opossumSubject,
        bare,
      ],
    },
    {
      name: 'execute, failure rate over last 100 calls (closed)',
      girder: loop(() => rateCount.execute(fn)),
      peers: [{ name: 'cockatiel 3', run: loop(() => cockatielCount.execute(fn)) }, bare],
    },
    {
      name: 'execute with an AbortSignal, consecutive (closed)',
      girder: loop(() => consecutive.execute(fn, signal)),
      peers: [
        { name: 'cockatiel 3', run: loop(() => cockatielConsecutive.execute(fn, signal)) },
        bare,
      ],
    },
    {
      name: 'execute, slow calls (closed)',
      girder: loop(() => slow.execute(fn)),
      peers: [bare],
    },
    {
      name: 'execute, adaptive throttle (healthy)',
      girder: loop(() => adaptive.execute(fn)),
      peers: [bare],
    },
    {
      name: 'refuse a call (open)',
      girder: rejectLoop(() => openGirder.execute(fn)),
      peers: [
        { name: 'cockatiel 3', run: rejectLoop(() => openCockatiel.execute(fn)) },
        { name: 'opossum 9', run: rejectLoop(() => openOpossum.fire()) },
      ],
    },
  ],
};

export const sinkValue = () => sink;
