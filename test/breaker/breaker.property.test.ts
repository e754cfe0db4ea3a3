/**
 * Property tests of the breaker's state machine: random configurations and random
 * sequences of calls (started, then settled later as success, failure or the caller's
 * abort), immediate calls, time moving on, isolation and snapshots, on a manual clock.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  adaptiveThrottle,
  anyOf,
  type Breaker,
  type BreakerPolicy,
  type BreakerState,
  type CircuitBreakerOptions,
  circuitBreaker,
  consecutiveFailures,
  failureRate,
  type IsolationHandle,
  slowCalls,
} from '../../src/breaker/index.js';
import { AbortedError, exponential, type ManualClock, manualClock } from '../../src/core/index.js';
import { call, flush } from './helpers.js';

type PolicyKind = 'consecutive' | 'rateCount' | 'rateTime' | 'slowOrConsecutive' | 'adaptive';

const policyOf = (kind: PolicyKind, threshold: number, seed: number): BreakerPolicy => {
  switch (kind) {
    case 'consecutive':
      return consecutiveFailures({ threshold });
    case 'rateCount':
      return failureRate({ threshold: 0.5, minimumCalls: threshold, windowSize: 5 });
    case 'rateTime':
      return failureRate({ threshold: 0.5, minimumCalls: threshold, windowMs: 200, buckets: 4 });
    case 'slowOrConsecutive':
      return anyOf(
        consecutiveFailures({ threshold }),
        slowCalls({ slowMs: 50, rate: 0.5, minimumCalls: 2, windowMs: 500 }),
      );
    case 'adaptive': {
      let state = seed >>> 0 || 1;
      const random = () => {
        state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
        return state / 2 ** 32;
      };
      return anyOf(
        adaptiveThrottle({ k: 1, protection: 0, windowMs: 400, probeIntervalMs: 100, random }),
        consecutiveFailures({ threshold: threshold + 2 }),
      );
    }
  }
};

const configArb = fc
  .record({
    kind: fc.constantFrom<PolicyKind>(
      'consecutive',
      'rateCount',
      'rateTime',
      'slowOrConsecutive',
      'adaptive',
    ),
    threshold: fc.integer({ min: 1, max: 3 }),
    seed: fc.integer(),
    openMs: fc.integer({ min: 10, max: 200 }),
    backoff: fc.boolean(),
    probes: fc.integer({ min: 1, max: 3 }),
    concurrency: fc.integer({ min: 1, max: 3 }),
    ramp: fc.subarray([0.1, 0.25, 0.5, 0.75]),
    stepMs: fc.integer({ min: 0, max: 100 }),
    stepSuccesses: fc.integer({ min: 0, max: 2 }),
    probeTimeoutMs: fc.integer({ min: 50, max: 400 }),
    afterIsolation: fc.constantFrom<'half-open' | 'closed'>('half-open', 'closed'),
  })
  .map((c) => ({ ...c, concurrency: Math.min(c.concurrency, c.probes) }));

type Config = typeof configArb extends fc.Arbitrary<infer C> ? C : never;

const optionsOf = (c: Config, clock: ManualClock): CircuitBreakerOptions => ({
  policy: policyOf(c.kind, c.threshold, c.seed),
  ...(c.backoff
    ? { openBackoff: exponential({ initialMs: c.openMs, maxMs: c.openMs * 4, jitter: 'none' }) }
    : { openMs: c.openMs }),
  halfOpen: {
    probes: c.probes,
    maxConcurrentProbes: c.concurrency,
    ramp: c.ramp,
    stepMs: c.stepMs,
    stepSuccesses: c.stepSuccesses,
    probeTimeoutMs: c.probeTimeoutMs,
  },
  afterIsolation: c.afterIsolation,
  clock,
});

type Command =
  | { t: 'start'; signal: boolean }
  | { t: 'settle'; i: number; how: 'ok' | 'fail' | 'abort' }
  | { t: 'instant'; ok: boolean }
  | { t: 'advance'; ms: number }
  | { t: 'isolate' }
  | { t: 'release'; i: number }
  | { t: 'snapshot' };

const commandArb: fc.Arbitrary<Command> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ t: fc.constant('start' as const), signal: fc.boolean() }) },
  {
    weight: 4,
    arbitrary: fc.record({
      t: fc.constant('settle' as const),
      i: fc.nat(),
      how: fc.constantFrom<'ok' | 'fail' | 'abort'>('ok', 'fail', 'abort'),
    }),
  },
  { weight: 4, arbitrary: fc.record({ t: fc.constant('instant' as const), ok: fc.boolean() }) },
  {
    weight: 3,
    arbitrary: fc.record({
      t: fc.constant('advance' as const),
      ms: fc.integer({ min: 0, max: 300 }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ t: 'isolate' as const }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('release' as const), i: fc.nat() }) },
  { weight: 1, arbitrary: fc.constant({ t: 'snapshot' as const }) },
);

/** How often the interesting situations came up, so the properties are not vacuous. */
const coverage = {
  tripped: 0,
  probeAdmitted: 0,
  concurrentProbes: 0,
  rampStep: 0,
  closedAfterRecovery: 0,
  abortedProbe: 0,
  staleSettlement: 0,
  isolated: 0,
  snapshotHalfOpen: 0,
  throttled: 0,
};

interface Call {
  invoked: boolean;
  settled: boolean;
  controller: AbortController | undefined;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  probeEpisode: number;
  promise: Promise<unknown>;
}

/** Drives a breaker and checks the invariants as events and invocations happen. */
class Harness {
  readonly clock = manualClock(1_000);
  readonly breaker: Breaker;
  readonly calls: Call[] = [];
  readonly isolations: IsolationHandle[] = [];
  // what the events say
  tracked: BreakerState = 'closed';
  openedAt = 0;
  openFor = 0;
  episode = 0;
  phase: 'probing' | 'ramp' = 'probing';
  transitions = 0;
  readonly violations: string[] = [];

  constructor(readonly config: Config) {
    this.breaker = circuitBreaker(optionsOf(config, this.clock));
    this.breaker.events.on('stateChange', (e) => {
      this.transitions++;
      const now = this.clock.now();
      if (e.from !== this.tracked) this.violations.push(`from ${e.from} but was ${this.tracked}`);
      if (e.from === 'open' && e.to === 'half-open' && now < this.openedAt + this.openFor) {
        this.violations.push(`half-open at ${now}, before ${this.openedAt} + ${this.openFor}`);
      }
      if (e.to === 'open') {
        coverage.tripped++;
        this.openedAt = now;
        this.openFor = e.openMs ?? Number.NaN;
      }
      if (e.from === 'half-open' && e.to === 'closed') coverage.closedAfterRecovery++;
      if (e.to === 'isolated') coverage.isolated++;
      if (e.to === 'half-open') {
        this.episode++;
        this.phase = 'probing';
      }
      this.tracked = e.to;
    });
    this.breaker.events.on('rampStep', () => {
      coverage.rampStep++;
      this.phase = 'ramp';
    });
    this.breaker.events.on('rejected', (e) => {
      if (e.reason === 'throttled') coverage.throttled++;
    });
  }

  pendingProbes(): number {
    return this.calls.filter((c) => !c.settled && c.probeEpisode === this.episode).length;
  }

  start(signal: boolean): void {
    const controller = signal ? new AbortController() : undefined;
    const c = {
      invoked: false,
      settled: false,
      controller,
      resolve: () => {},
      reject: () => {},
      probeEpisode: -1,
    } as unknown as Call;
    c.promise = this.breaker
      .execute(
        () =>
          new Promise((resolve, reject) => {
            c.invoked = true;
            this.onInvoke(c);
            c.resolve = resolve;
            c.reject = reject;
          }),
        controller?.signal,
      )
      .catch(() => {})
      .finally(() => {
        c.settled = true;
      });
    this.calls.push(c);
  }

  onInvoke(c: Call): void {
    if (this.tracked === 'open' || this.tracked === 'isolated') {
      this.violations.push(`admitted a call while ${this.tracked} at ${this.clock.now()}`);
    }
    if (this.tracked === 'half-open' && this.phase === 'probing') {
      c.probeEpisode = this.episode;
      const inFlight = this.pendingProbes() + 1;
      coverage.probeAdmitted++;
      if (inFlight > 1) coverage.concurrentProbes++;
      if (inFlight > this.config.concurrency) {
        this.violations.push(`${inFlight} probes in flight, max ${this.config.concurrency}`);
      }
    }
  }

  async run(cmd: Command): Promise<void> {
    switch (cmd.t) {
      case 'start':
        this.start(cmd.signal);
        await flush();
        return;
      case 'settle': {
        const open = this.calls.filter((c) => c.invoked && !c.settled);
        if (open.length === 0) return;
        const c = open[cmd.i % open.length]!;
        if (c.probeEpisode >= 0 && c.probeEpisode !== this.episode) coverage.staleSettlement++;
        if (cmd.how === 'abort') {
          if (c.probeEpisode === this.episode && this.tracked === 'half-open')
            coverage.abortedProbe++;
          const before = this.breaker.state; // lets a due open -> half-open happen first
          const transitions = this.transitions;
          if (c.controller) {
            c.controller.abort();
            c.reject(Object.assign(new Error('aborted'), { name: 'AbortError' }));
          } else {
            c.reject(new AbortedError());
          }
          await c.promise;
          await flush();
          if (this.transitions !== transitions || this.breaker.state !== before) {
            this.violations.push(`a caller abort changed the state from ${before}`);
          }
          return;
        }
        if (cmd.how === 'ok') c.resolve('ok');
        else c.reject(new Error('down'));
        await c.promise;
        await flush();
        return;
      }
      case 'instant':
        await call(this.breaker, cmd.ok);
        return;
      case 'advance':
        this.clock.advance(cmd.ms);
        await flush();
        return;
      case 'isolate':
        this.isolations.push(this.breaker.isolate());
        return;
      case 'release': {
        const held = this.isolations.filter((h) => !h.released);
        if (held.length) held[cmd.i % held.length]!.release();
        return;
      }
      case 'snapshot': {
        const snapshot = JSON.parse(JSON.stringify(this.breaker.toJSON()));
        if (snapshot.state === 'half-open') coverage.snapshotHalfOpen++;
        const restored = circuitBreaker({
          ...optionsOf(this.config, this.clock),
          restore: snapshot,
        });
        expect(restored.toJSON()).toEqual(snapshot);
        expect(restored.state === this.breaker.state).toBe(true);
        return;
      }
    }
  }

  /** Settle everything as a success and release every isolation. */
  async calmDown(): Promise<void> {
    for (const c of this.calls) if (c.invoked && !c.settled) c.resolve('ok');
    await Promise.all(this.calls.map((c) => c.promise));
    for (const h of this.isolations) h.release();
    await flush();
  }
}

describe('breaker state machine (property)', () => {
  it('keeps its invariants under random calls, settlements, time, isolation and snapshots', async () => {
    await fc.assert(
      fc.asyncProperty(
        configArb,
        fc.array(commandArb, { minLength: 20, maxLength: 80 }),
        async (config, cmds) => {
          const h = new Harness(config);
          for (const cmd of cmds) {
            await h.run(cmd);
            expect(h.violations).toEqual([]);
            expect(['closed', 'open', 'half-open', 'isolated']).toContain(h.breaker.state);
          }
          expect(h.breaker.state).toBe(h.tracked);
        },
      ),
      // 200 runs still reach the rarest situation (a recovery closing) ~7 times.
      { numRuns: 200 },
    );
    if (process.env.BREAKER_COVERAGE) console.log(coverage);
    for (const [situation, count] of Object.entries(coverage)) {
      expect({ situation, covered: count > 0 }).toEqual({ situation, covered: true });
    }
  });

  it('closes after a full ramp of successes, from wherever it got to, without reopening', async () => {
    await fc.assert(
      fc.asyncProperty(
        configArb,
        fc.array(commandArb, { minLength: 10, maxLength: 60 }),
        async (config, cmds) => {
          const h = new Harness(config);
          for (const cmd of cmds) await h.run(cmd);
          await h.calmDown();
          const reopened: string[] = [];
          h.breaker.events.on('stateChange', (e) => {
            if (e.to === 'open') reopened.push(e.reason);
          });
          for (let round = 0; round < 400 && h.breaker.state !== 'closed'; round++) {
            h.clock.advance(10);
            for (let i = 0; i < 5; i++) await call(h.breaker, true);
          }
          expect(reopened).toEqual([]);
          expect(h.breaker.state).toBe('closed');
          expect(h.violations).toEqual([]);
        },
      ),
      { numRuns: 120 },
    );
  });

  it('a full ramp admits no more than its fractions (plus the first call of a step)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.subarray([0.1, 0.2, 0.25, 0.5, 0.75, 0.9], { minLength: 1 }),
        fc.integer({ min: 10, max: 200 }),
        async (ramp, callsPerStep) => {
          const clock = manualClock();
          const breaker = circuitBreaker({
            policy: consecutiveFailures({ threshold: 1 }),
            openMs: 10,
            halfOpen: { probes: 1, ramp, stepMs: 100, stepSuccesses: 0 },
            clock,
          });
          await call(breaker, false);
          clock.advance(10);
          await call(breaker, true); // the probe: ramp starts on step 0
          for (const fraction of ramp) {
            let admitted = 0;
            for (let i = 0; i < callsPerStep; i++) {
              if ((await call(breaker, true)) === 'ok') admitted++;
            }
            expect(admitted).toBeGreaterThanOrEqual(Math.floor(callsPerStep * fraction));
            expect(admitted).toBeLessThanOrEqual(Math.ceil(callsPerStep * fraction) + 1);
            clock.advance(100);
          }
          await call(breaker, true);
          expect(breaker.state).toBe('closed');
        },
      ),
      { numRuns: 100 },
    );
  });
});
