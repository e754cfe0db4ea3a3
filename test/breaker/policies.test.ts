import { describe, expect, it } from 'vitest';
import {
  adaptiveThrottle,
  anyOf,
  consecutiveFailures,
  failureRate,
  type PolicyState,
  slowCalls,
} from '../../src/breaker/index.js';
import { InvalidArgumentError, InvalidOptionsError, manualClock } from '../../src/core/index.js';

const paths = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidOptionsError);
    return (err as InvalidOptionsError).issues.map((i) => i.path);
  }
  throw new Error('expected InvalidOptionsError');
};

describe('consecutiveFailures', () => {
  it('trips on the threshold-th failure in a row; a success resets', () => {
    const s = consecutiveFailures({ threshold: 3 }).create(manualClock());
    expect([s.record(true, 0, 0), s.record(true, 0, 0), s.record(false, 0, 0)]).toEqual([
      false,
      false,
      false,
    ]);
    expect([s.record(true, 0, 0), s.record(true, 0, 0), s.record(true, 0, 0)]).toEqual([
      false,
      false,
      true,
    ]);
    expect(s.tripReason()).toBe('3 consecutive failures (threshold 3)');
    s.reset();
    expect(s.toJSON()).toEqual({ kind: 'consecutiveFailures', failures: 0 });
  });

  it('defaults to 5 and validates', () => {
    expect(consecutiveFailures().options).toEqual({ threshold: 5 });
    expect(paths(() => consecutiveFailures({ threshold: 0 }))).toEqual(['threshold']);
    expect(paths(() => consecutiveFailures({ threshold: 2.5 }))).toEqual(['threshold']);
    expect(paths(() => consecutiveFailures({ limit: 3 } as never))).toEqual(['']);
  });
});

describe('failureRate, count window', () => {
  it('trips at threshold once minimumCalls are in the window; old outcomes slide out', () => {
    const s = failureRate({ threshold: 0.5, minimumCalls: 4, windowSize: 4 }).create(manualClock());
    expect(s.timed).toBe(false);
    expect(s.record(true, 0, 0)).toBe(false); // 1/1 but below minimumCalls
    expect(s.record(true, 0, 0)).toBe(false);
    expect(s.record(false, 0, 0)).toBe(false);
    expect(s.record(false, 0, 0)).toBe(true); // 2/4 = 50%: a success completing minimumCalls trips
    s.reset();
    for (let i = 0; i < 4; i++) s.record(false, 0, 0);
    expect(s.record(true, 0, 0)).toBe(false); // window: s s s f = 25%
    expect(s.record(true, 0, 0)).toBe(true); // window: s s f f = 50%
    expect(s.tripReason()).toBe('failure rate 50% of the last 4 calls (threshold 50%)');
    expect(s.toJSON()).toEqual({
      kind: 'failureRate',
      window: { kind: 'count', size: 4, outcomes: [0, 0, 1, 1] },
    });
  });

  it('compares rates exactly (0.1 of 30 calls is 3 failures)', () => {
    const s = failureRate({ threshold: 0.1, minimumCalls: 30, windowSize: 30 }).create(
      manualClock(),
    );
    let tripped = false;
    for (let i = 0; i < 27; i++) tripped ||= s.record(false, 0, 0);
    for (let i = 0; i < 3; i++) tripped = s.record(true, 0, 0);
    expect(tripped).toBe(true);
  });
});

describe('failureRate, time window', () => {
  it('counts calls in buckets that expire as time passes, rotated by a timer', () => {
    const clock = manualClock();
    const s = failureRate({ threshold: 0.5, minimumCalls: 4, windowMs: 1_000, buckets: 4 }).create(
      clock,
    );
    expect(s.timed).toBe(false); // no clock read per call
    s.record(true, 0, 0);
    s.record(true, 0, 0);
    s.record(false, 0, 0);
    expect(clock.pendingTimers).toBe(1);
    clock.advance(1_000); // all three slide out
    expect(s.record(true, 0, 0)).toBe(false);
    expect(s.record(false, 0, 0)).toBe(false);
    expect(s.record(false, 0, 0)).toBe(false);
    expect(s.record(true, 0, 0)).toBe(true); // 2/4 in the current window
    expect(s.tripReason()).toBe('failure rate 50% of 4 calls (threshold 50%)');
  });

  it('keeps calls from the last windowMs only, bucket by bucket', () => {
    const clock = manualClock();
    const s = failureRate({ threshold: 0.6, minimumCalls: 3, windowMs: 1_000, buckets: 4 }).create(
      clock,
    );
    s.record(true, 0, 0); // bucket [0, 250)
    clock.advance(500);
    s.record(true, 0, 0); // bucket [500, 750)
    clock.advance(300); // t = 800: the first bucket is still in the window
    expect(s.record(false, 0, 0)).toBe(true); // 2/3
    s.reset();
    s.record(true, 0, 0); // t = 800
    clock.advance(1_000); // t = 1800: gone
    s.record(false, 0, 0);
    s.record(false, 0, 0);
    expect(s.record(true, 0, 0)).toBe(false); // 1/3
  });

  it('holds no timer once the window is empty (an idle breaker can be collected)', () => {
    const clock = manualClock();
    const s = failureRate({ windowMs: 1_000, buckets: 10 }).create(clock);
    s.record(true, 0, 0);
    expect(clock.pendingTimers).toBe(1);
    clock.advance(1_000);
    expect(clock.pendingTimers).toBe(0);
    s.record(true, 0, 0);
    s.reset();
    expect(clock.pendingTimers).toBe(0);
  });

  it('defaults to 50% of at least 20 calls over 10 s in 10 buckets', () => {
    expect(failureRate().options).toEqual({
      threshold: 0.5,
      minimumCalls: 20,
      windowMs: 10_000,
      buckets: 10,
    });
    expect(failureRate({ windowSize: 50 }).options).toEqual({
      threshold: 0.5,
      minimumCalls: 20,
      windowSize: 50,
    });
  });

  it('validates with field paths', () => {
    expect(paths(() => failureRate({ threshold: 50 }))).toEqual(['threshold']);
    expect(paths(() => failureRate({ threshold: 0 }))).toEqual(['threshold']);
    expect(paths(() => failureRate({ minimumCalls: 0, windowMs: -1 }))).toEqual([
      'minimumCalls',
      'windowMs',
    ]);
    expect(paths(() => failureRate({ windowMs: 1_000, windowSize: 10, minimumCalls: 5 }))).toEqual([
      'windowSize',
    ]);
    expect(paths(() => failureRate({ windowSize: 10, buckets: 5, minimumCalls: 5 }))).toEqual([
      'buckets',
    ]);
    expect(paths(() => failureRate({ windowSize: 10 }))).toEqual(['minimumCalls']);
    expect(paths(() => failureRate({ buckets: 0 }))).toEqual(['buckets']);
  });
});

describe('slowCalls', () => {
  it('trips when the share of calls at or over slowMs reaches rate', () => {
    const clock = manualClock();
    const s = slowCalls({ slowMs: 100, rate: 0.5, minimumCalls: 4, windowMs: 1_000 }).create(clock);
    expect(s.measuresDuration).toBe(true);
    expect(s.record(false, 0, 100)).toBe(false);
    expect(s.record(true, 0, 5)).toBe(false); // failures count as calls, by their duration
    expect(s.record(false, 0, 99)).toBe(false);
    expect(s.record(false, 0, 250)).toBe(true);
    expect(s.tripReason()).toBe('50% of 4 calls took >= 100 ms (threshold 50%)');
    s.reset();
    expect(s.record(false, 0, 250)).toBe(false);
    expect(s.record(false, 1_000, 250)).toBe(false); // the first slid out: 1 call in the window
  });

  it('requires slowMs and validates', () => {
    expect(paths(() => slowCalls({} as never))).toEqual(['slowMs']);
    expect(paths(() => slowCalls({ slowMs: 10, rate: 2, minimumCalls: -1 }))).toEqual([
      'rate',
      'minimumCalls',
    ]);
    expect(slowCalls({ slowMs: 10 }).options).toEqual({
      slowMs: 10,
      rate: 0.5,
      minimumCalls: 20,
      windowMs: 10_000,
      buckets: 10,
    });
  });
});

describe('adaptiveThrottle', () => {
  /** One attempt: admission (which counts the request), then its outcome if admitted. */
  const attempt = (s: PolicyState, failed: boolean, now = 0) => {
    const admitted = s.admit(now);
    if (admitted) s.record(failed, now, 0);
    return admitted;
  };

  it('drops with probability max(0, (requests - protection - k*accepts) / (requests + 1))', () => {
    let r = 0.99;
    const policy = adaptiveThrottle({ k: 2, protection: 0, probeIntervalMs: 1e9, random: () => r });
    const s = policy.create(manualClock()) as PolicyState & {
      dropProbability(now: number): number;
    };
    expect(s.dropProbability(0)).toBe(0); // nothing recorded yet
    // 10 requests, 2 accepted: (10 - 4) / 11
    for (let i = 0; i < 10; i++) expect(attempt(s, i >= 2)).toBe(true);
    expect(s.dropProbability(0)).toBeCloseTo(6 / 11);
    r = 6 / 11 - 0.01;
    expect(s.admit(0)).toBe(false); // dropped, and the drop counts as a request
    expect(s.dropProbability(0)).toBeCloseTo(7 / 12);
    r = 7 / 12;
    expect(s.admit(0)).toBe(true); // admitted: counted at once, before it settles
    expect(s.dropProbability(0)).toBeCloseTo(8 / 13);
    expect(s.record(false, 0, 0)).toBe(false); // never trips; a success is an accept
    expect(s.dropProbability(0)).toBeCloseTo(6 / 13);
  });

  it('counts a request at admission, so calls in flight count (regression: issue 18.3)', () => {
    const s = adaptiveThrottle({ protection: 5, probeIntervalMs: 1e9, random: () => 0 }).create(
      manualClock(),
    );
    // Nothing settles: admission alone must drive the drop probability up.
    const admitted = Array.from({ length: 20 }, () => s.admit(0)).filter(Boolean).length;
    expect(admitted).toBe(6); // protection + 1: the 7th sees (6 - 5) / 7 > 0
  });

  it('takes a cancelled call back out of the requests', () => {
    const s = adaptiveThrottle({ protection: 0, probeIntervalMs: 1e9, random: () => 0 }).create(
      manualClock(),
    ) as PolicyState & { dropProbability(now: number): number };
    expect(s.admit(0)).toBe(true);
    expect(s.dropProbability(0)).toBeCloseTo(1 / 2);
    s.cancelled!(0);
    expect(s.dropProbability(0)).toBe(0);
    s.cancelled!(0); // never below zero
    expect(s.dropProbability(0)).toBe(0);
  });

  it('does not throttle a healthy dependency, nor below the protection floor', () => {
    const s = adaptiveThrottle({ k: 2, protection: 5, random: () => 0 }).create(manualClock());
    for (let i = 0; i < 1_000; i++) expect(attempt(s, i % 2 === 0)).toBe(true); // 50% success, k = 2
    const fresh = adaptiveThrottle({ protection: 5, probeIntervalMs: 1e9, random: () => 0 }).create(
      manualClock(),
    );
    for (let i = 0; i < 5; i++) expect(attempt(fresh, true)).toBe(true);
    expect(fresh.admit(0)).toBe(true); // (5 - 5) / 6 = 0
    fresh.record(true, 0, 0);
    expect(fresh.admit(0)).toBe(false); // (6 - 5) / 7
  });

  it('lets a probe through after probeIntervalMs without an admitted call', () => {
    const s = adaptiveThrottle({ protection: 0, probeIntervalMs: 1_000, random: () => 0 }).create(
      manualClock(),
    );
    for (let i = 0; i < 100; i++) attempt(s, true);
    expect(s.admit(10)).toBe(false);
    expect(s.admit(999)).toBe(false);
    expect(s.admit(1_000)).toBe(true); // the quiet period is over: a probe
    expect(s.admit(1_001)).toBe(false);
  });

  it('forgets history as the window slides', () => {
    const s = adaptiveThrottle({
      windowMs: 1_000,
      buckets: 10,
      protection: 0,
      probeIntervalMs: 1e9,
      random: () => 0,
    }).create(manualClock());
    for (let i = 0; i < 100; i++) attempt(s, true);
    expect(s.admit(500)).toBe(false);
    expect(s.admit(1_600)).toBe(true);
  });

  it('has the SRE defaults and validates', () => {
    const { random, ...rest } = adaptiveThrottle().options;
    expect(rest).toEqual({
      k: 2,
      windowMs: 10_000,
      buckets: 10,
      protection: 5,
      probeIntervalMs: 1_000,
    });
    expect(typeof random).toBe('function');
    expect(paths(() => adaptiveThrottle({ k: 0.5, random: 1 as never }))).toEqual(['k', 'random']);
  });
});

describe('anyOf', () => {
  it('feeds every policy every outcome and trips on the first that trips', () => {
    const s = anyOf(
      consecutiveFailures({ threshold: 3 }),
      failureRate({ threshold: 0.5, minimumCalls: 2, windowSize: 2 }),
    ).create(manualClock());
    expect(s.record(true, 0, 0)).toBe(false);
    expect(s.record(true, 0, 0)).toBe(true);
    expect(s.tripReason()).toBe(
      'failureRate: failure rate 100% of the last 2 calls (threshold 50%)',
    );
    expect(s.toJSON()).toEqual({
      kind: 'anyOf',
      policies: [
        { kind: 'consecutiveFailures', failures: 2 },
        { kind: 'failureRate', window: { kind: 'count', size: 2, outcomes: [1, 1] } },
      ],
    });
  });

  it('merges the needs of its policies', () => {
    const s = anyOf(consecutiveFailures(), slowCalls({ slowMs: 1 }), adaptiveThrottle()).create(
      manualClock(),
    );
    expect([s.timed, s.measuresDuration, s.throttles]).toEqual([true, true, true]);
    const plain = anyOf(consecutiveFailures(), failureRate()).create(manualClock());
    expect([plain.timed, plain.measuresDuration, plain.throttles]).toEqual([false, false, false]);
  });

  it('needs at least one real policy', () => {
    expect(() => anyOf()).toThrow(InvalidArgumentError);
    expect(() => anyOf(consecutiveFailures(), {} as never)).toThrow('policies[1]');
  });

  it('one policy object configures independent breakers', () => {
    const policy = consecutiveFailures({ threshold: 1 });
    const a = policy.create(manualClock());
    const b = policy.create(manualClock());
    expect(a.record(true, 0, 0)).toBe(true);
    expect(b.toJSON()).toEqual({ kind: 'consecutiveFailures', failures: 0 });
  });
});
