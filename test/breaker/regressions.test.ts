// Regression tests for issue 18 (defects 1-3) and the runtime-input rules of issue 9.
import { describe, expect, it } from 'vitest';
import {
  adaptiveThrottle,
  type BreakerSnapshot,
  circuitBreaker,
  failureRate,
  slowCalls,
} from '../../src/breaker/index.js';
import { InvalidArgumentError, InvalidOptionsError, manualClock } from '../../src/core/index.js';
import { call, flush, start } from './helpers.js';

const issuesOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidOptionsError);
    return (err as InvalidOptionsError).issues.map((i) => i.path);
  }
  throw new Error('expected InvalidOptionsError');
};

const roundTrip = (snapshot: BreakerSnapshot) =>
  JSON.parse(JSON.stringify(snapshot)) as BreakerSnapshot;

/** An epoch-like clock, as systemClock gives. */
const epochClock = () => manualClock(1_767_225_600_000);

describe('issue 18.1: a time-window snapshot carries its geometry and ages out', () => {
  const holding4Failures = async (windowMs: number) => {
    const clock = epochClock();
    const breaker = circuitBreaker({ policy: failureRate({ minimumCalls: 5, windowMs }), clock });
    for (let i = 0; i < 4; i++) await call(breaker, false);
    return { clock, snapshot: roundTrip(breaker.toJSON()) };
  };

  it('refuses a restore into another windowMs, naming the fields (was accepted)', async () => {
    const { clock, snapshot } = await holding4Failures(10_000);
    expect(
      issuesOf(() =>
        circuitBreaker({
          policy: failureRate({ minimumCalls: 5, windowMs: 20_000 }),
          clock,
          restore: snapshot,
        }),
      ),
    ).toEqual(['restore.policy.window.windowMs', 'restore.policy.window.bucketMs']);
  });

  it('a restored window forgets old failures when traffic stopped (was: trips 2 min later)', async () => {
    const { clock, snapshot } = await holding4Failures(10_000);
    const restore = () =>
      circuitBreaker({
        policy: failureRate({ minimumCalls: 5, windowMs: 10_000 }),
        clock,
        restore: snapshot,
      });
    const soon = restore();
    await call(soon, false); // 5 of 5 within the window: trips
    expect(soon.state).toBe('open');
    clock.advance(120_000);
    const later = restore();
    await call(later, false); // the 4 old failures are 2 minutes old
    expect(later.state).toBe('closed');
    expect(later.toJSON().policy).toMatchObject({ window: { buckets: [{ a: 1, b: 1 }] } });
  });

  it('an outage after a restore trips (was: 20 s of outage never tripped)', async () => {
    const clock = epochClock();
    const policy = () => failureRate({ minimumCalls: 20, windowMs: 10_000 });
    const before = circuitBreaker({ policy: policy(), clock });
    for (let i = 0; i < 1_200; i++) await call(before, true);
    const snapshot = roundTrip(before.toJSON());
    clock.advance(30_000);
    const restored = circuitBreaker({ policy: policy(), clock, restore: snapshot });
    for (let i = 0; i < 20 && restored.state === 'closed'; i++) {
      await call(restored, false);
      clock.advance(100);
    }
    expect(restored.state).toBe('open');
  });

  it('stores absolute bucket times and the geometry', async () => {
    const { clock, snapshot } = await holding4Failures(10_000);
    expect(snapshot.version).toBe(2);
    expect(snapshot.policy).toEqual({
      kind: 'failureRate',
      window: {
        kind: 'time',
        windowMs: 10_000,
        bucketCount: 10,
        bucketMs: 1_000,
        buckets: [{ startMs: Math.floor(clock.now() / 1_000) * 1_000, a: 4, b: 4 }],
      },
    });
  });

  it('refuses buckets from the future, misaligned or out of order', async () => {
    const { clock, snapshot } = await holding4Failures(10_000);
    const withBuckets = (buckets: unknown) =>
      ({
        ...snapshot,
        policy: { ...snapshot.policy, window: { ...(snapshot.policy.window as object), buckets } },
      }) as BreakerSnapshot;
    const restore = (s: BreakerSnapshot) => () =>
      circuitBreaker({ policy: failureRate({ minimumCalls: 5 }), clock, restore: s });
    const now = clock.now();
    expect(issuesOf(restore(withBuckets([{ startMs: now + 60_000, a: 1, b: 1 }])))).toEqual([
      'restore.policy.window.buckets.0.startMs',
    ]);
    expect(issuesOf(restore(withBuckets([{ startMs: now - 1_500, a: 1, b: 1 }])))).toEqual([
      'restore.policy.window.buckets.0.startMs',
    ]);
    const t = Math.floor(now / 1_000) * 1_000;
    expect(
      issuesOf(
        restore(
          withBuckets([
            { startMs: t, a: 1, b: 0 },
            { startMs: t - 1_000, a: 1, b: 0 },
          ]),
        ),
      ),
    ).toEqual(['restore.policy.window.buckets.1.startMs']);
    expect(issuesOf(restore(withBuckets([{ startMs: t, a: -1, b: 0 }])))).toEqual([
      'restore.policy.window.buckets.0.a',
    ]);
  });

  it('slowCalls and adaptiveThrottle check the geometry too', () => {
    const clock = epochClock();
    const slow = circuitBreaker({ policy: slowCalls({ slowMs: 5 }), clock }).toJSON();
    expect(
      issuesOf(() =>
        circuitBreaker({ policy: slowCalls({ slowMs: 5, windowMs: 5_000 }), clock, restore: slow }),
      ),
    ).toEqual(['restore.policy.window.windowMs', 'restore.policy.window.bucketMs']);
    const adaptive = circuitBreaker({ policy: adaptiveThrottle(), clock }).toJSON();
    expect(
      issuesOf(() =>
        circuitBreaker({ policy: adaptiveThrottle({ buckets: 20 }), clock, restore: adaptive }),
      ),
    ).toEqual(['restore.policy.window.bucketCount', 'restore.policy.window.bucketMs']);
  });

  it('refuses a version 1 snapshot with a clear message', () => {
    const clock = epochClock();
    const v2 = circuitBreaker({ clock }).toJSON();
    try {
      circuitBreaker({ clock, restore: { ...v2, version: 1 } as never });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(InvalidOptionsError);
      const [issue] = (err as InvalidOptionsError).issues;
      expect(issue!.path).toBe('restore.version');
      expect(issue!.message).toMatch(/version 1 .*window geometry/);
    }
  });
});

describe('issue 18.2: a count-window snapshot carries its size', () => {
  const snapshotOf = async (windowSize: number) => {
    const b = circuitBreaker({ policy: failureRate({ windowSize, minimumCalls: 10 }) });
    for (let i = 0; i < windowSize; i++) await call(b, i % 5 !== 0);
    return roundTrip(b.toJSON());
  };

  it('refuses 100 -> 50 (was silently truncated) and 50 -> 100 (was undetectable)', async () => {
    const from100 = await snapshotOf(100);
    expect(from100.policy).toMatchObject({ window: { kind: 'count', size: 100 } });
    expect(
      issuesOf(() =>
        circuitBreaker({
          policy: failureRate({ windowSize: 50, minimumCalls: 10 }),
          restore: from100,
        }),
      ),
    ).toEqual(['restore.policy.window.size']);
    const from50 = await snapshotOf(50);
    expect(
      issuesOf(() =>
        circuitBreaker({
          policy: failureRate({ windowSize: 100, minimumCalls: 10 }),
          restore: from50,
        }),
      ),
    ).toEqual(['restore.policy.window.size']);
  });

  it('refuses a time window restored into a count window and vice versa', async () => {
    const count = await snapshotOf(20);
    expect(
      issuesOf(() => circuitBreaker({ policy: failureRate({ windowMs: 1_000 }), restore: count })),
    ).toEqual(['restore.policy.window.kind']);
    const time = circuitBreaker({ policy: failureRate() }).toJSON();
    expect(
      issuesOf(() =>
        circuitBreaker({ policy: failureRate({ windowSize: 20, minimumCalls: 5 }), restore: time }),
      ),
    ).toEqual(['restore.policy.window.kind']);
  });

  it('refuses more outcomes than the size', async () => {
    const s = await snapshotOf(20);
    const window = s.policy.window as { outcomes: number[] };
    const bad = {
      ...s,
      policy: { ...s.policy, window: { ...window, outcomes: [...window.outcomes, 1] } },
    };
    expect(
      issuesOf(() =>
        circuitBreaker({ policy: failureRate({ windowSize: 20, minimumCalls: 10 }), restore: bad }),
      ),
    ).toEqual(['restore.policy.window.outcomes']);
  });
});

describe('issue 18.3: adaptiveThrottle counts requests at admission', () => {
  it('with a hanging backend and random 0, only protection + 1 of 20 calls reach it (was: all 20)', async () => {
    const protection = 5;
    const breaker = circuitBreaker({
      policy: adaptiveThrottle({ protection, k: 2, random: () => 0 }),
      clock: manualClock(),
    });
    const calls = Array.from({ length: 20 }, () => start(breaker));
    await flush();
    // Call i sees requests = i, accepts = 0: p = (i - protection) / (i + 1) > 0 from i = 6.
    expect(calls.filter((c) => c.invoked()).length).toBe(protection + 1);
    const refused = calls.filter((c) => {
      const o = c.outcome();
      return o !== undefined && !o.ok && (o.error as { reason?: string }).reason === 'throttled';
    });
    expect(refused.length).toBe(20 - (protection + 1));
  });

  it("a caller's cancellation is taken back out of the requests", async () => {
    const breaker = circuitBreaker({
      policy: adaptiveThrottle({ protection: 0, probeIntervalMs: 1e9, random: () => 0 }),
      clock: manualClock(),
    });
    const first = start(breaker, { signal: true });
    first.abort();
    await flush();
    // Without the take-back, requests = 1 and the next call would be dropped with p = 1/2.
    const second = start(breaker);
    await flush();
    expect(second.invoked()).toBe(true);
  });
});

describe('execute: bad runtime input', () => {
  it('answers a non-AbortSignal signal with INVALID_ARGUMENT, without calling fn', async () => {
    const breaker = circuitBreaker();
    let invoked = false;
    const err = await breaker
      .execute(async () => {
        invoked = true;
      }, new AbortController() as never)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect((err as InvalidArgumentError).code).toBe('INVALID_ARGUMENT');
    expect(invoked).toBe(false);
    await expect(breaker.execute(null as never)).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
  });
});
