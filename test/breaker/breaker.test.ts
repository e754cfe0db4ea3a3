import { describe, expect, it, vi } from 'vitest';
import {
  adaptiveThrottle,
  type BreakerSnapshot,
  BrokenCircuitError,
  circuitBreaker,
  consecutiveFailures,
  failureRate,
  slowCalls,
} from '../../src/breaker/index.js';
import {
  AbortedError,
  exponential,
  InvalidArgumentError,
  InvalidOptionsError,
  manualClock,
  TimeoutError,
} from '../../src/core/index.js';
import { boom, call, flush, ok, recordEvents, start } from './helpers.js';

const issuesOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidOptionsError);
    expect((err as InvalidOptionsError).code).toBe('INVALID_OPTIONS');
    return (err as InvalidOptionsError).issues.map((i) => i.path);
  }
  throw new Error('expected InvalidOptionsError');
};

/** A breaker that trips after 2 failures, stays open 100 ms, 1 probe, ramp 50% for 10 ms. */
const small = (extra: Parameters<typeof circuitBreaker>[0] = {}) => {
  const clock = manualClock(1_000);
  const breaker = circuitBreaker({
    name: 'dep',
    policy: consecutiveFailures({ threshold: 2 }),
    openMs: 100,
    halfOpen: { probes: 1, ramp: [0.5], stepMs: 10, stepSuccesses: 1 },
    clock,
    ...extra,
  });
  return { clock, breaker };
};

describe('circuitBreaker: closed and open', () => {
  it('passes results and errors through while closed, and hands fn the signal', async () => {
    const { breaker } = small();
    expect(breaker.state).toBe('closed');
    expect(await breaker.execute(ok)).toBe('ok');
    await expect(breaker.execute(boom)).rejects.toThrow('downstream failed');
    const controller = new AbortController();
    const seen = vi.fn(async (signal: AbortSignal | undefined) => signal);
    expect(await breaker.execute(seen, controller.signal)).toBe(controller.signal);
    expect(await breaker.execute(async (signal) => signal)).toBeUndefined();
    expect(await breaker.execute(() => 42)).toBe(42); // synchronous functions work too
  });

  it('trips after the policy says so and refuses without calling fn', async () => {
    const { breaker, clock } = small();
    expect(await call(breaker, false)).toBe('fail');
    expect(breaker.state).toBe('closed');
    expect(await call(breaker, false)).toBe('fail');
    expect(breaker.state).toBe('open');
    clock.advance(40);
    const fn = vi.fn(ok);
    const err = await breaker.execute(fn).catch((e: unknown) => e);
    expect(fn).not.toHaveBeenCalled();
    expect(err).toBeInstanceOf(BrokenCircuitError);
    expect(err).toMatchObject({
      code: 'CIRCUIT_OPEN',
      breaker: 'dep',
      state: 'open',
      reason: 'open',
      retryAfterMs: 60,
    });
    expect((err as Error).message).toContain('"dep"');
  });

  it('a success resets the consecutive streak', async () => {
    const { breaker } = small();
    for (let i = 0; i < 5; i++) {
      await call(breaker, false);
      await call(breaker, true);
    }
    expect(breaker.state).toBe('closed');
  });

  it('counts a synchronous throw from fn as a failure and rejects (never throws)', async () => {
    const { breaker } = small();
    const sync = () => {
      throw new Error('sync');
    };
    const p1 = breaker.execute(sync);
    await expect(p1).rejects.toThrow('sync');
    await expect(breaker.execute(sync)).rejects.toThrow('sync');
    expect(breaker.state).toBe('open');
  });

  it('rejects a non-function with INVALID_ARGUMENT', async () => {
    const { breaker } = small();
    const err = await breaker.execute('nope' as never).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect((err as InvalidArgumentError).code).toBe('INVALID_ARGUMENT');
  });
});

describe('circuitBreaker: half-open recovery ramp', () => {
  it('becomes half-open when read after openMs, admits one probe, then ramps and closes', async () => {
    const { breaker, clock } = small();
    const events = recordEvents(breaker);
    await call(breaker, false);
    await call(breaker, false);
    clock.advance(99);
    expect(breaker.state).toBe('open');
    clock.advance(1);
    expect(breaker.state).toBe('half-open');

    const probe = start(breaker);
    await flush();
    expect(probe.invoked()).toBe(true);
    expect(await call(breaker, true)).toBe('rejected:probing'); // the single probe slot is taken
    probe.resolve('fine');
    await probe.promise;

    // ramp step 0 admits 50%: first call in, the next refused, and so on
    expect(await call(breaker, true)).toBe('ok');
    expect(await call(breaker, true)).toBe('rejected:ramp');
    expect(await call(breaker, true)).toBe('ok');
    expect(breaker.state).toBe('half-open'); // stepMs not elapsed yet
    clock.advance(10);
    expect(await call(breaker, true)).toBe('ok'); // admitted as a full-traffic closed call
    expect(breaker.state).toBe('closed');

    const transitions = events
      .filter(([name]) => name === 'stateChange')
      .map(([, e]) => `${(e as { from: string }).from}->${(e as { to: string }).to}`);
    expect(transitions).toEqual(['closed->open', 'open->half-open', 'half-open->closed']);
    expect(events.filter(([name]) => name === 'rampStep').map(([, e]) => e)).toEqual([
      { step: 0, fraction: 0.5 },
    ]);
  });

  it('admits each ramp step in its fraction and waits for successes on the step', async () => {
    const clock = manualClock();
    const breaker = circuitBreaker({
      policy: consecutiveFailures({ threshold: 1 }),
      openMs: 10,
      halfOpen: { probes: 2, ramp: [0.1, 0.25, 0.5], stepMs: 100, stepSuccesses: 3 },
      clock,
    });
    await call(breaker, false);
    clock.advance(10);
    expect(await call(breaker, true)).toBe('ok');
    expect(await call(breaker, true)).toBe('ok'); // second probe -> ramp starts
    for (const fraction of [0.1, 0.25, 0.5]) {
      let admitted = 0;
      for (let i = 0; i < 40; i++) if ((await call(breaker, true)) === 'ok') admitted++;
      expect(admitted).toBe(40 * fraction);
      expect(breaker.state).toBe('half-open');
      clock.advance(100);
    }
    // last step done (time and successes): the next call closes the breaker
    expect(await call(breaker, true)).toBe('ok');
    expect(breaker.state).toBe('closed');
  });

  it('does not advance a step on time alone: it needs stepSuccesses', async () => {
    const clock = manualClock();
    const breaker = circuitBreaker({
      policy: consecutiveFailures({ threshold: 1 }),
      openMs: 10,
      halfOpen: { probes: 1, ramp: [0.5], stepMs: 10, stepSuccesses: 2 },
      clock,
    });
    await call(breaker, false);
    clock.advance(10);
    await call(breaker, true); // probe
    clock.advance(1_000);
    expect(await call(breaker, true)).toBe('ok'); // 1 success on the step
    expect(breaker.state).toBe('half-open');
    expect(await call(breaker, true)).toBe('rejected:ramp');
    expect(await call(breaker, true)).toBe('ok'); // 2nd success: step complete -> closed
    expect(breaker.state).toBe('closed');
  });

  it('a failing probe reopens', async () => {
    const { breaker, clock } = small();
    await call(breaker, false);
    await call(breaker, false);
    clock.advance(100);
    expect(await call(breaker, false)).toBe('fail');
    expect(breaker.state).toBe('open');
    expect(await call(breaker, true)).toBe('rejected:open');
  });

  it('any failure during the ramp reopens', async () => {
    const { breaker, clock } = small();
    await call(breaker, false);
    await call(breaker, false);
    clock.advance(100);
    await call(breaker, true); // probe ok -> ramp
    expect(await call(breaker, false)).toBe('fail');
    expect(breaker.state).toBe('open');
  });

  it('ramp: [] closes right after the probes', async () => {
    const { breaker, clock } = small({ halfOpen: { probes: 2, maxConcurrentProbes: 2, ramp: [] } });
    await call(breaker, false);
    await call(breaker, false);
    clock.advance(100);
    const a = start(breaker);
    const b = start(breaker);
    await flush();
    expect(a.invoked() && b.invoked()).toBe(true);
    expect(await call(breaker, true)).toBe('rejected:probing');
    a.resolve();
    b.resolve();
    await Promise.all([a.promise, b.promise]);
    expect(breaker.state).toBe('closed');
  });

  it('never admits more probes than still needed, nor more than maxConcurrentProbes', async () => {
    const { breaker, clock } = small({
      halfOpen: { probes: 3, maxConcurrentProbes: 2, ramp: [] },
    });
    await call(breaker, false);
    await call(breaker, false);
    clock.advance(100);
    const p = [start(breaker), start(breaker), start(breaker)];
    await flush();
    expect(p.map((x) => x.invoked())).toEqual([true, true, false]);
    p[0]!.resolve();
    await p[0]!.promise;
    const q = start(breaker); // one slot free, 2 more successes needed
    const r = start(breaker); // slots full again
    await flush();
    expect([q.invoked(), r.invoked()]).toEqual([true, false]);
    p[1]!.resolve();
    await p[1]!.promise;
    const s = start(breaker); // 2 successes + 1 in flight = 3: no more needed
    await flush();
    expect(s.invoked()).toBe(false);
    q.resolve();
    await q.promise;
    expect(breaker.state).toBe('closed');
  });

  it('reopens when probes hang for probeTimeoutMs', async () => {
    const { breaker, clock } = small({ halfOpen: { probes: 1, probeTimeoutMs: 500 } });
    await call(breaker, false);
    await call(breaker, false);
    clock.advance(100);
    const hung = start(breaker);
    await flush();
    clock.advance(499);
    expect(await call(breaker, true)).toBe('rejected:probing');
    clock.advance(1);
    expect(await call(breaker, true)).toBe('rejected:open');
    expect(breaker.state).toBe('open');
    hung.resolve(); // too late: it no longer counts
    await hung.promise;
    expect(breaker.state).toBe('open');
  });
});

describe('circuitBreaker: open backoff', () => {
  it('grows the open period across repeated trips and resets after a full recovery', async () => {
    const clock = manualClock();
    const breaker = circuitBreaker({
      policy: consecutiveFailures({ threshold: 1 }),
      openBackoff: exponential({ initialMs: 100, factor: 2, maxMs: 350, jitter: 'none' }),
      halfOpen: { probes: 1, ramp: [] },
      clock,
    });
    const openPeriods: number[] = [];
    breaker.events.on('stateChange', (e) => {
      if (e.to === 'open') openPeriods.push(e.openMs!);
    });
    await call(breaker, false);
    for (const wait of [100, 200, 350]) {
      clock.advance(wait - 1);
      expect(breaker.state).toBe('open');
      clock.advance(1);
      expect(await call(breaker, false)).toBe('fail'); // the probe fails: reopen, longer
    }
    clock.advance(350);
    expect(await call(breaker, true)).toBe('ok'); // full recovery
    expect(breaker.state).toBe('closed');
    await call(breaker, false);
    expect(openPeriods).toEqual([100, 200, 350, 350, 100]);
  });
});

describe('circuitBreaker: what counts', () => {
  it('isFailure decides; errors that do not count are successes', async () => {
    class NotFound extends Error {}
    const { breaker } = small({ isFailure: (err) => !(err instanceof NotFound) });
    const events = recordEvents(breaker);
    const notFound = async () => {
      throw new NotFound('no such order');
    };
    await call(breaker, false);
    await expect(breaker.execute(notFound)).rejects.toBeInstanceOf(NotFound); // resets the streak
    await call(breaker, false);
    expect(breaker.state).toBe('closed');
    const success = events.find(([name, e]) => name === 'success' && 'error' in (e as object));
    expect(success?.[1]).toMatchObject({ state: 'closed', error: expect.any(NotFound) });
  });

  it('a throwing isFailure counts the error as a failure', async () => {
    const { breaker } = small({
      isFailure: () => {
        throw new Error('predicate bug');
      },
    });
    await call(breaker, false);
    await call(breaker, false);
    expect(breaker.state).toBe('open');
  });

  it("the caller's abort never counts, with or without listeners", async () => {
    for (const listening of [false, true]) {
      const { breaker } = small();
      const ignored = vi.fn();
      if (listening) breaker.events.on('ignored', ignored);
      for (let i = 0; i < 5; i++) {
        const c = start(breaker, { signal: true });
        await flush();
        c.abort();
        await c.promise;
        expect(c.outcome()).toMatchObject({ ok: false });
        await expect(
          breaker.execute(() => Promise.reject(new AbortedError())),
        ).rejects.toBeInstanceOf(AbortedError);
      }
      expect(breaker.state).toBe('closed');
      if (listening) expect(ignored).toHaveBeenCalledTimes(10);
    }
  });

  it('a TimeoutError under an aborted signal still counts (a deadline girder enforced)', async () => {
    const { breaker } = small();
    const controller = new AbortController();
    controller.abort();
    // the signal is already aborted: rejected at once, fn not called, nothing counted
    const fn = vi.fn(ok);
    await expect(breaker.execute(fn, controller.signal)).rejects.toBeInstanceOf(AbortedError);
    expect(fn).not.toHaveBeenCalled();
    const live = new AbortController();
    const timeout = async () => {
      live.abort();
      throw new TimeoutError(50);
    };
    await breaker.execute(timeout, live.signal).catch(() => {});
    await breaker.execute(timeout, new AbortController().signal).catch(() => {});
    expect(breaker.state).toBe('open');
  });

  it('an aborted probe frees its slot without changing state', async () => {
    const { breaker, clock } = small();
    await call(breaker, false);
    await call(breaker, false);
    clock.advance(100);
    const probe = start(breaker, { signal: true });
    await flush();
    expect(probe.invoked()).toBe(true);
    probe.abort();
    await probe.promise;
    expect(breaker.state).toBe('half-open');
    const next = start(breaker);
    await flush();
    expect(next.invoked()).toBe(true);
    next.resolve();
    await next.promise;
  });

  it('results of calls admitted before a transition are ignored (stale)', async () => {
    const { breaker, clock } = small();
    const slow = start(breaker); // admitted while closed
    await call(breaker, false);
    await call(breaker, false); // trips
    clock.advance(100);
    expect(breaker.state).toBe('half-open');
    slow.reject(new Error('late failure'));
    await slow.promise;
    expect(breaker.state).toBe('half-open'); // not blamed on the recovering dependency
    expect(await call(breaker, true)).toBe('ok'); // the probe slot is still free
  });
});

describe('circuitBreaker: isolation', () => {
  it('isolate() refuses everything until every handle is released, then half-opens', async () => {
    const { breaker } = small();
    const events = recordEvents(breaker);
    const a = breaker.isolate();
    const b = breaker.isolate();
    expect(breaker.state).toBe('isolated');
    const fn = vi.fn(ok);
    const err = await breaker.execute(fn).catch((e: unknown) => e);
    expect(fn).not.toHaveBeenCalled();
    expect(err).toMatchObject({ code: 'CIRCUIT_OPEN', reason: 'isolated', state: 'isolated' });
    expect((err as BrokenCircuitError).retryAfterMs).toBeUndefined();
    a.release();
    a.release(); // idempotent
    expect(a.released).toBe(true);
    expect(breaker.state).toBe('isolated');
    b.release();
    expect(breaker.state).toBe('half-open');
    expect(events.filter(([n]) => n === 'rejected').map(([, e]) => e)).toEqual([
      { reason: 'isolated', state: 'isolated', retryAfterMs: undefined },
    ]);
  });

  it("afterIsolation: 'closed' goes straight back to closed", () => {
    const { breaker } = small({ afterIsolation: 'closed' });
    const h = breaker.isolate();
    h.release();
    expect(breaker.state).toBe('closed');
  });

  it('isolating an open breaker holds it past openMs', async () => {
    const { breaker, clock } = small();
    await call(breaker, false);
    await call(breaker, false);
    const h = breaker.isolate();
    clock.advance(10_000);
    expect(breaker.state).toBe('isolated');
    h.release();
    expect(breaker.state).toBe('half-open');
  });
});

describe('circuitBreaker: events', () => {
  it('emits success, failure and rejected with durations from the clock', async () => {
    const { breaker, clock } = small();
    const events = recordEvents(breaker);
    const c = start(breaker);
    await flush();
    clock.advance(25);
    c.resolve('v');
    await c.promise;
    await call(breaker, false);
    await call(breaker, false);
    await call(breaker, true);
    expect(events.map(([n]) => n)).toEqual([
      'success',
      'failure',
      'failure',
      'stateChange',
      'rejected',
    ]);
    expect(events[0]![1]).toEqual({ durationMs: 25, state: 'closed' });
    expect(events[3]![1]).toEqual({
      from: 'closed',
      to: 'open',
      reason: '2 consecutive failures (threshold 2)',
      openMs: 100,
    });
    expect(events[4]![1]).toEqual({ reason: 'open', state: 'open', retryAfterMs: 100 });
  });

  it('a throwing listener never breaks the breaker', async () => {
    const onListenerError = vi.fn();
    const { breaker } = small({ onListenerError });
    breaker.events.on('failure', () => {
      throw new Error('listener bug');
    });
    breaker.events.on('stateChange', () => {
      throw new Error('listener bug');
    });
    await call(breaker, false);
    await call(breaker, false);
    expect(breaker.state).toBe('open');
    expect(onListenerError).toHaveBeenCalledTimes(3);
  });

  it('unsubscribing returns to the fast path (no more call events)', async () => {
    const { breaker } = small();
    const success = vi.fn();
    const off = breaker.events.on('success', success);
    await call(breaker, true);
    off();
    await call(breaker, true);
    const once = vi.fn();
    breaker.events.once('success', once);
    await call(breaker, true);
    await call(breaker, true);
    expect(success).toHaveBeenCalledTimes(1);
    expect(once).toHaveBeenCalledTimes(1);
  });
});

describe('circuitBreaker: other policies', () => {
  it('slowCalls trips on slow successes', async () => {
    const clock = manualClock();
    const breaker = circuitBreaker({
      policy: slowCalls({ slowMs: 100, rate: 0.5, minimumCalls: 4 }),
      clock,
    });
    for (let i = 0; i < 4; i++) {
      const c = start(breaker);
      await flush();
      clock.advance(i % 2 === 0 ? 150 : 10);
      c.resolve();
      await c.promise;
    }
    expect(breaker.state).toBe('open');
  });

  it('adaptiveThrottle refuses some calls while staying closed', async () => {
    const clock = manualClock();
    const breaker = circuitBreaker({
      policy: adaptiveThrottle({ k: 2, protection: 0, probeIntervalMs: 1e9, random: () => 0.5 }),
      clock,
    });
    const outcomes: string[] = [];
    for (let i = 0; i < 20; i++) outcomes.push(await call(breaker, false));
    expect(outcomes).toContain('rejected:throttled');
    expect(breaker.state).toBe('closed');
    const err = await breaker.execute(ok).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'CIRCUIT_OPEN', state: 'closed', reason: 'throttled' });
  });

  it('an array of policies trips on any of them', async () => {
    const { breaker } = small({
      policy: [
        failureRate({ windowSize: 10, minimumCalls: 10 }),
        consecutiveFailures({ threshold: 3 }),
      ],
    });
    await call(breaker, false);
    await call(breaker, false);
    expect(breaker.state).toBe('closed');
    await call(breaker, false);
    expect(breaker.state).toBe('open');
  });
});

describe('circuitBreaker: snapshots', () => {
  const roundTrip = (snapshot: BreakerSnapshot) =>
    JSON.parse(JSON.stringify(snapshot)) as BreakerSnapshot;

  it('restores closed, open, half-open (mid-ramp) and policy state', async () => {
    const { breaker, clock } = small({ policy: failureRate({ windowSize: 10, minimumCalls: 4 }) });
    await call(breaker, false);
    await call(breaker, true);
    await call(breaker, false);
    const closed = roundTrip(breaker.toJSON());
    expect(closed).toMatchObject({
      state: 'closed',
      policy: { kind: 'failureRate', window: { kind: 'count', size: 10, outcomes: [1, 0, 1] } },
    });
    const again = circuitBreaker({
      policy: failureRate({ windowSize: 10, minimumCalls: 4 }),
      clock,
      restore: closed,
    });
    expect(again.toJSON()).toEqual(closed);
    await call(again, false); // 3 of 4 failed: trips, as the original would
    expect(again.state).toBe('open');

    const open = roundTrip(again.toJSON());
    expect(open.openUntil).toBe(clock.now() + 10_000);
    const reopened = circuitBreaker({
      policy: failureRate({ windowSize: 10, minimumCalls: 4 }),
      clock,
      restore: open,
    });
    expect(reopened.state).toBe('open');
    expect(await call(reopened, true)).toBe('rejected:open');

    await call(breaker, false); // original trips too
    clock.advance(100);
    await call(breaker, true); // probe -> ramp step 0
    const halfOpen = roundTrip(breaker.toJSON());
    expect(halfOpen).toMatchObject({ state: 'half-open', halfOpen: { step: 0 } });
    const resumed = circuitBreaker({
      name: 'dep',
      policy: failureRate({ windowSize: 10, minimumCalls: 4 }),
      openMs: 100,
      halfOpen: { probes: 1, ramp: [0.5], stepMs: 10 },
      clock,
      restore: halfOpen,
    });
    expect(resumed.toJSON()).toEqual(halfOpen);
    for (const b of [breaker, resumed]) {
      expect(await call(b, true)).toBe('ok');
      expect(await call(b, true)).toBe('rejected:ramp');
    }
  });

  it('restores isolation with a handle to release it', () => {
    const { breaker } = small();
    breaker.isolate();
    const snapshot = roundTrip(breaker.toJSON());
    const { breaker: restored } = small({ restore: snapshot });
    expect(restored.state).toBe('isolated');
    restored.restoredIsolation!.release();
    expect(restored.state).toBe('half-open');
    expect(small().breaker.restoredIsolation).toBeUndefined();
  });

  it('restores time-window and combined policies', async () => {
    const clock = manualClock();
    const policy = () => [
      failureRate({ windowMs: 1_000, buckets: 4, minimumCalls: 3 }),
      slowCalls({ slowMs: 5 }),
      adaptiveThrottle(),
    ];
    const a = circuitBreaker({ policy: policy(), clock });
    await call(a, false);
    clock.advance(300);
    await call(a, false);
    const snapshot = roundTrip(a.toJSON());
    const b = circuitBreaker({ policy: policy(), clock, restore: snapshot });
    expect(b.toJSON()).toEqual(snapshot);
    await call(a, false);
    await call(b, false);
    expect([a.state, b.state]).toEqual(['open', 'open']);
  });

  it('rejects a malformed or mismatched snapshot with the field path', () => {
    const good = small().breaker.toJSON();
    expect(issuesOf(() => small({ restore: { ...good, state: 'ajar' } as never }))).toEqual([
      'restore.state',
    ]);
    expect(issuesOf(() => small({ restore: { ...good, version: 3 } as never }))).toEqual([
      'restore.version',
    ]);
    expect(
      issuesOf(() =>
        small({ restore: { ...good, policy: { kind: 'consecutiveFailures', failures: -1 } } }),
      ),
    ).toEqual(['restore.policy.failures']);
    expect(
      issuesOf(() =>
        small({ restore: good, policy: failureRate({ windowSize: 5, minimumCalls: 5 }) }),
      ),
    ).toEqual(['restore.policy.kind']);
    const windowed = circuitBreaker({
      policy: failureRate({ windowMs: 1_000, buckets: 4 }),
    }).toJSON();
    expect(
      issuesOf(() =>
        circuitBreaker({ policy: failureRate({ windowMs: 1_000, buckets: 5 }), restore: windowed }),
      ),
    ).toEqual(['restore.policy.window.bucketCount', 'restore.policy.window.bucketMs']);
    const combined = circuitBreaker({
      policy: [consecutiveFailures(), slowCalls({ slowMs: 1 })],
    }).toJSON();
    expect(
      issuesOf(() =>
        circuitBreaker({ policy: [consecutiveFailures(), failureRate()], restore: combined }),
      ),
    ).toEqual(['restore.policy.policies.1.kind']);
  });

  it('a snapshot from a longer ramp resumes on the last configured step', async () => {
    const clock = manualClock();
    const long = circuitBreaker({
      policy: consecutiveFailures({ threshold: 1 }),
      openMs: 10,
      halfOpen: { probes: 1, ramp: [0.1, 0.5, 0.9], stepMs: 0, stepSuccesses: 1 },
      clock,
    });
    await call(long, false);
    clock.advance(10);
    await call(long, true);
    await call(long, true); // step 0 -> 1
    await call(long, true);
    const snap = long.toJSON();
    expect(snap.halfOpen.step).toBeGreaterThanOrEqual(1);
    const short = circuitBreaker({
      policy: consecutiveFailures({ threshold: 1 }),
      halfOpen: { probes: 1, ramp: [0.2] },
      clock,
      restore: snap,
    });
    expect(short.toJSON().halfOpen.step).toBe(0);
  });
});

describe('circuitBreaker: options', () => {
  it('rejects bad options naming each field', () => {
    expect(issuesOf(() => circuitBreaker({ openMs: 0 }))).toEqual(['openMs']);
    expect(issuesOf(() => circuitBreaker({ openMs: 5, openBackoff: exponential() }))).toEqual([
      'openBackoff',
    ]);
    expect(issuesOf(() => circuitBreaker({ openBackoff: { delay: 1 } as never }))).toEqual([
      'openBackoff',
    ]);
    expect(issuesOf(() => circuitBreaker({ policy: {} as never }))).toEqual(['policy']);
    expect(issuesOf(() => circuitBreaker({ policy: [] }))).toEqual(['policy']);
    expect(issuesOf(() => circuitBreaker({ isFailure: true as never }))).toEqual(['isFailure']);
    expect(issuesOf(() => circuitBreaker({ clock: { now: () => 1 } as never }))).toEqual(['clock']);
    expect(issuesOf(() => circuitBreaker({ name: '' }))).toEqual(['name']);
    expect(issuesOf(() => circuitBreaker({ afterIsolation: 'open' as never }))).toEqual([
      'afterIsolation',
    ]);
    expect(
      issuesOf(() =>
        circuitBreaker({
          halfOpen: { probes: 0, ramp: [0.5, 0.25, 1], stepMs: -1, stepSuccesses: 1.5 },
        }),
      ),
    ).toEqual([
      'halfOpen.probes',
      'halfOpen.ramp.2',
      'halfOpen.ramp.1',
      'halfOpen.stepMs',
      'halfOpen.stepSuccesses',
    ]);
    expect(issuesOf(() => circuitBreaker({ halfOpen: { ramp: [0.5, 0.25] } }))).toEqual([
      'halfOpen.ramp.1',
    ]);
    expect(
      issuesOf(() => circuitBreaker({ halfOpen: { probes: 2, maxConcurrentProbes: 3 } })),
    ).toEqual(['halfOpen.maxConcurrentProbes']);
    expect(issuesOf(() => circuitBreaker({ halfOpen: { probeTimeoutMs: 0 } }))).toEqual([
      'halfOpen.probeTimeoutMs',
    ]);
  });

  it('rejects unknown options (typos) instead of ignoring them', () => {
    const err = (() => {
      try {
        circuitBreaker({ openMS: 5 } as never);
      } catch (e) {
        return e as InvalidOptionsError;
      }
    })();
    expect(err).toBeInstanceOf(InvalidOptionsError);
    expect(err!.message).toContain('openMS');
    expect(issuesOf(() => circuitBreaker({ halfOpen: { steps: 3 } as never }))).toEqual([
      'halfOpen',
    ]);
  });

  it('has documented defaults: consecutive 5, open 10 s, 3 probes, ramp 10/25/50% over 1 s steps', async () => {
    const clock = manualClock();
    const breaker = circuitBreaker({ clock });
    expect(breaker.name).toBe('breaker');
    for (let i = 0; i < 4; i++) await call(breaker, false);
    expect(breaker.state).toBe('closed');
    await call(breaker, false);
    expect(breaker.state).toBe('open');
    clock.advance(9_999);
    expect(breaker.state).toBe('open');
    clock.advance(1);
    for (let i = 0; i < 3; i++) expect(await call(breaker, true)).toBe('ok');
    const steps: number[] = [];
    breaker.events.on('rampStep', (e) => steps.push(e.fraction));
    for (let i = 0; i < 3; i++) {
      clock.advance(1_000);
      for (let j = 0; j < 10; j++) await call(breaker, true);
    }
    expect(breaker.state).toBe('closed');
    expect(steps).toEqual([0.25, 0.5]);
  });
});
