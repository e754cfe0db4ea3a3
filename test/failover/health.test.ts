import { describe, expect, it } from 'vitest';
import {
  AbortedError,
  InvalidArgumentError,
  type ManualClock,
  manualClock,
} from '../../src/core/index.js';
import {
  AllTargetsFailedError,
  type FailoverEvents,
  type HealthFailover,
  type HealthFailoverOptions,
  healthFailover,
} from '../../src/failover/index.js';
import { deferred, FakeSms, flush, optionPaths, type Sms } from './fakes.js';

interface Setup {
  clock: ManualClock;
  a: FakeSms;
  b: FakeSms;
  sms: HealthFailover<Sms>;
  log: { [K in keyof FailoverEvents]: FailoverEvents[K][] };
  /** Make `count` calls one after another; returns the answers (errors as 'error'). */
  calls(count: number): Promise<string[]>;
}

function setup(options: HealthFailoverOptions<Sms> = {}, latencyMs = 0): Setup {
  const clock = manualClock();
  const a = new FakeSms('a', undefined, clock);
  const b = new FakeSms('b', undefined, clock);
  a.latencyMs = latencyMs;
  b.latencyMs = latencyMs;
  const sms = healthFailover<Sms>([a, b], {
    clock,
    prefer: 'ordered',
    minSamples: 5,
    decay: { halfLifeCalls: 5 },
    probeIntervalMs: 10_000,
    restoreAfter: 3,
    methods: ['send'],
    ...options,
  });
  const log = {
    attempt: [],
    switch: [],
    giveUp: [],
    down: [],
    probe: [],
    restore: [],
    route: [],
    percent: [],
  } as Setup['log'];
  for (const name of Object.keys(log) as (keyof FailoverEvents)[]) {
    sms.events.on(name, (e) => (log[name] as unknown[]).push(e));
  }
  return {
    clock,
    a,
    b,
    sms,
    log,
    async calls(count) {
      const out: string[] = [];
      for (let i = 0; i < count; i++) out.push(await sms.send('1').catch(() => 'error'));
      return out;
    },
  };
}

describe('healthFailover: an erroring target', () => {
  it('is judged down by its error rate, skipped, probed by real calls, and restored after it recovers', async () => {
    const t = setup();
    const control = t.sms.control;
    expect(await t.calls(20)).toEqual(Array(20).fill('a:ok'));

    t.a.failing();
    let failedBeforeDown = 0;
    while (t.log.down.length === 0) {
      expect(await t.sms.send('1')).toBe('b:ok'); // every caller still succeeds, via b
      failedBeforeDown++;
      expect(failedBeforeDown).toBeLessThan(20);
    }
    // Half-life 5 calls after 20 successes: the 5th failure in a row weighs
    // (1 - 0.5) / (1 - 0.5^5) = 0.516 > 0.5 (the average has no start-up bias).
    expect(failedBeforeDown).toBe(5);
    expect(t.log.down[0]).toMatchObject({ index: 0, reason: 'error-rate' });
    expect(t.log.down[0]!.errorRate).toBeGreaterThan(0.5);
    expect(control.health()[0]).toMatchObject({
      up: false,
      downReason: 'error-rate',
      downSince: 0,
    });

    // Down: a is not called at all until the probe interval passes.
    const aCalls = t.a.calls;
    expect(await t.calls(10)).toEqual(Array(10).fill('b:ok'));
    expect(t.a.calls).toBe(aCalls);

    // Interval passed, a still broken: one real call probes it, fails over to b, then a rests again.
    t.clock.advance(10_000);
    expect(await t.calls(5)).toEqual(Array(5).fill('b:ok'));
    expect(t.a.calls).toBe(aCalls + 1);
    expect(t.log.probe).toEqual([
      expect.objectContaining({ index: 0, ok: false, source: 'call', latencyMs: 0 }),
    ]);

    // a recovers: three good probes, one per interval, bring it back.
    t.a.ok();
    const answers: string[] = [];
    for (let i = 0; i < 3; i++) {
      t.clock.advance(10_000);
      answers.push(...(await t.calls(2)));
    }
    expect(answers).toEqual(['a:ok', 'b:ok', 'a:ok', 'b:ok', 'a:ok', 'a:ok']);
    expect(t.log.probe.slice(1).map((p) => p.ok)).toEqual([true, true, true]);
    expect(t.log.restore).toEqual([{ index: 0, manual: false }]);
    expect(control.health()[0]).toMatchObject({ up: true, errorRate: 0, samples: 1 });
    expect(await t.calls(3)).toEqual(['a:ok', 'a:ok', 'a:ok']);
  });

  it('a failed probe restarts the count of good probes', async () => {
    const t = setup({ restoreAfter: 2 });
    t.sms.control.markDown(0);
    t.clock.advance(10_000);
    await t.calls(1); // good probe 1
    t.a.failing();
    t.clock.advance(10_000);
    await t.calls(1); // bad probe
    t.a.ok();
    t.clock.advance(10_000);
    await t.calls(1); // good probe 1 again
    expect(t.log.restore).toHaveLength(0);
    t.clock.advance(10_000);
    await t.calls(1); // good probe 2
    expect(t.log.restore).toHaveLength(1);
    expect(t.log.probe.map((p) => p.ok)).toEqual([true, false, true, true]);
  });

  it('needs minSamples before judging: a brand-new target is not taken down by its first failures', async () => {
    const t = setup({ minSamples: 10 });
    t.a.failing();
    await t.calls(9);
    expect(t.log.down).toHaveLength(0);
    await t.calls(1);
    expect(t.log.down).toHaveLength(1);
  });

  it('errors isFailure rejects do not count against health (but still fail over)', async () => {
    const t = setup({ isFailure: (e) => (e as Error).message !== 'a rejects this phone' });
    t.a.failing('a rejects this phone');
    expect(await t.calls(30)).toEqual(Array(30).fill('b:ok'));
    expect(t.log.down).toHaveLength(0);
    expect(t.sms.control.health()[0]!.errorRate).toBe(0);
  });

  it('only one real call at a time probes a down target; the rest go to healthy ones', async () => {
    const t = setup();
    t.sms.control.markDown(0);
    t.clock.advance(10_000);
    const gate = deferred<string>();
    t.a.behaviour = () => gate.promise;
    const probeCall = t.sms.send('1');
    const others = await t.calls(5);
    expect(others).toEqual(Array(5).fill('b:ok'));
    expect(t.a.calls).toBe(1);
    gate.resolve('a:ok');
    await expect(probeCall).resolves.toBe('a:ok');
  });
});

describe('healthFailover: concurrency', () => {
  it('calls in flight when a target goes down do not count as probes (nor restore it)', async () => {
    const t = setup();
    const gates = Array.from({ length: 5 }, () => deferred<string>());
    let next = 0;
    t.a.behaviour = () => gates[next++]!.promise;
    const inFlight = Array.from({ length: 5 }, () => t.sms.send('1'));
    await flush();
    t.sms.control.markDown(0);
    for (const g of gates) g.resolve('a:late');
    expect(await Promise.all(inFlight)).toEqual(Array(5).fill('a:late'));
    expect(t.log.probe).toEqual([]);
    expect(t.log.restore).toEqual([]);
    expect(t.sms.control.health()[0]!.up).toBe(false);
  });

  it('calls in flight when a target is restored are not counted against it afterwards', async () => {
    const t = setup({ minSamples: 1 });
    const control = t.sms.control;
    control.markDown(0);
    control.markDown(1);
    const gates = Array.from({ length: 3 }, () => deferred<string>());
    let next = 0;
    t.a.behaviour = () => gates[next++]!.promise;
    t.b.failing();
    const inFlight = Array.from({ length: 3 }, () => t.sms.send('1').catch(() => 'error'));
    await flush();
    control.markUp(0);
    for (const g of gates) g.reject(new Error('stale failure'));
    await Promise.all(inFlight);
    expect(control.health()[0]).toMatchObject({ up: true, samples: 0 });
  });
});

describe('healthFailover: a slow target', () => {
  it('is judged down when its latency grows well past its own baseline, and restored when fast again', async () => {
    const t = setup({}, 20);
    await t.calls(30); // baseline of a: 20 ms
    const before = t.sms.control.health()[0]!;
    expect(before.up).toBe(true);
    expect(before.latencyMs).toBeCloseTo(20, 9);
    expect(before.baselineMs).toBeCloseTo(20, 9);
    expect(before.latencyLimitMs).toBeCloseTo(70, 9); // max(3 x 20, 20 + 50)

    t.a.latencyMs = 500;
    let slowCalls = 0;
    while (t.log.down.length === 0) {
      expect(await t.sms.send('1')).toBe('a:ok'); // slow but successful
      slowCalls++;
      expect(slowCalls).toBeLessThan(20);
    }
    // Samples are capped at 2 x the limit (140 ms), so it takes a few slow calls in a row.
    expect(slowCalls).toBe(4);
    expect(t.log.down[0]).toMatchObject({ index: 0, reason: 'latency', errorRate: 0 });
    expect(t.log.down[0]!.latencyMs).toBeGreaterThan(70);
    expect(t.log.down[0]!.baselineMs).toBeLessThan(25);
    expect(await t.calls(3)).toEqual(['b:ok', 'b:ok', 'b:ok']);

    // Still slow at the probe: a successful call that is too slow is a failed probe.
    t.clock.advance(10_000);
    expect(await t.calls(1)).toEqual(['a:ok']);
    expect(t.log.probe.at(-1)).toMatchObject({ index: 0, ok: false, latencyMs: 500 });

    t.a.latencyMs = 20;
    for (let i = 0; i < 3; i++) {
      t.clock.advance(10_000);
      await t.calls(1);
    }
    expect(t.log.restore).toEqual([{ index: 0, manual: false }]);
    expect(t.sms.control.health()[0]).toMatchObject({ up: true, latencyMs: 20 });
    expect(await t.calls(2)).toEqual(['a:ok', 'a:ok']);
  });

  it('a gradual drift is absorbed into the baseline instead of taking the target down', async () => {
    const t = setup({}, 100);
    for (let i = 0; i < 500; i++) {
      t.a.latencyMs = 100 * 1.002 ** i; // +0.2% per call: 100 ms -> 271 ms
      await t.calls(1);
    }
    expect(t.log.down).toHaveLength(0);
    expect(t.sms.control.health()[0]!.baselineMs).toBeGreaterThan(150);
  });

  it('a few outliers do not take a target down', async () => {
    const t = setup({}, 20);
    await t.calls(30);
    for (let round = 0; round < 10; round++) {
      t.a.latencyMs = 2_000; // one straggler...
      await t.calls(1);
      t.a.latencyMs = 20; // ...among normal calls
      await t.calls(9);
    }
    expect(t.log.down).toHaveLength(0);
  });

  it('maxLatencyMs is an absolute limit that works before any baseline exists', async () => {
    const t = setup({ maxLatencyMs: 100 }, 300);
    await t.calls(5);
    expect(t.log.down).toEqual([expect.objectContaining({ index: 0, reason: 'latency' })]);
    expect(t.log.down[0]!.latencyMs).toBe(200); // samples capped at outlierFactor x limit
  });
});

describe('healthFailover: routing', () => {
  it("prefer 'healthiest' sends calls to the target with the lowest expected cost", async () => {
    const t = setup({ prefer: 'healthiest' });
    t.a.latencyMs = 50;
    t.b.latencyMs = 10;
    await t.calls(100);
    // Each is tried once while unknown (a first by index), then b wins every time.
    expect([t.a.calls, t.b.calls]).toEqual([1, 99]);
  });

  it('healthiest weighs errors: a fast target that often fails loses to a slower reliable one', async () => {
    const t = setup({ prefer: 'healthiest', maxErrorRate: 1 });
    t.a.latencyMs = 10;
    let n = 0;
    t.a.behaviour = () => {
      if (++n % 2 === 0) throw new Error('flaky');
      return 'a:ok';
    };
    t.b.latencyMs = 15;
    await t.calls(50);
    const health = t.sms.control.health();
    expect(health[0]!.errorRate).toBeGreaterThan(0.3);
    const bShare = t.b.calls;
    await t.calls(50);
    expect(t.b.calls - bShare).toBe(50); // 10 / (1 - ~0.5) > 15 / 1
  });

  it('when every target is down, calls still try them all; good answers count as probes', async () => {
    const t = setup();
    t.a.failing('a down');
    t.b.failing('b down');
    await t.calls(6);
    expect(t.log.down.map((d) => d.index).sort()).toEqual([0, 1]);

    const err = (await t.sms.send('1').catch((e: unknown) => e)) as AllTargetsFailedError;
    expect(err).toBeInstanceOf(AllTargetsFailedError);
    expect(err.errors.map((e) => (e.error as Error).message).sort()).toEqual(['a down', 'b down']);
    expect(t.log.giveUp.length).toBeGreaterThan(0);

    t.b.ok();
    const answers = await t.calls(3);
    expect(answers).toEqual(['b:ok', 'b:ok', 'b:ok']);
    expect(t.log.restore).toEqual([{ index: 1, manual: false }]);
    expect(t.sms.control.health().map((h) => h.up)).toEqual([false, true]);
  });

  it('emits switch for each failover inside a call', async () => {
    const t = setup();
    t.a.failing();
    await t.calls(1);
    expect(t.log.switch).toEqual([
      expect.objectContaining({ from: 0, to: 1, reason: 'error', method: 'send' }),
    ]);
  });

  it('shouldFailover false returns the error at once (still counted by isFailure)', async () => {
    const t = setup({ shouldFailover: () => false });
    t.a.failing('nope');
    await expect(t.sms.send('1')).rejects.toThrow('nope');
    expect(t.b.calls).toBe(0);
    expect(t.sms.control.health()[0]!.samples).toBe(1);
  });
});

describe('healthFailover: probe function', () => {
  it('probes down targets on a timer, never with real calls, and restores them', async () => {
    let aHealthy = false;
    const probed: string[] = [];
    const t = setup({
      probe: async (target) => {
        probed.push(target.name);
        if (target.name === 'a' && !aHealthy) throw new Error('still down');
      },
    });
    t.a.failing();
    await t.calls(6);
    expect(t.log.down).toHaveLength(1);
    const aCalls = t.a.calls;

    await t.clock.advanceAsync(10_000);
    expect(probed).toEqual(['a']);
    expect(t.log.probe).toEqual([
      expect.objectContaining({ index: 0, ok: false, source: 'probe' }),
    ]);
    expect(await t.calls(3)).toEqual(['b:ok', 'b:ok', 'b:ok']);
    expect(t.a.calls).toBe(aCalls); // no real call was used as a probe

    aHealthy = true;
    t.a.ok();
    await t.clock.advanceAsync(30_000);
    expect(probed).toEqual(['a', 'a', 'a', 'a']);
    expect(t.log.restore).toEqual([{ index: 0, manual: false }]);
    expect(t.clock.pendingTimers).toBe(0); // no timers while every target is up
    expect(await t.calls(1)).toEqual(['a:ok']);
  });

  it('a probe that hangs fails at probeTimeoutMs', async () => {
    const t = setup({ probe: () => new Promise(() => {}), probeTimeoutMs: 1_000 });
    t.sms.control.markDown(0);
    await t.clock.advanceAsync(10_000);
    expect(t.log.probe).toHaveLength(0);
    await t.clock.advanceAsync(1_000);
    expect(t.log.probe).toEqual([
      expect.objectContaining({ index: 0, ok: false, latencyMs: 1_000 }),
    ]);
  });

  it('close() stops the probe timers', async () => {
    const t = setup({ probe: async () => {} });
    const control = t.sms.control;
    control.markDown(0);
    expect(t.clock.pendingTimers).toBe(1);
    control.close();
    expect(t.clock.pendingTimers).toBe(0);
    await t.clock.advanceAsync(60_000);
    expect(t.log.probe).toHaveLength(0);
  });

  it('is AsyncDisposable: Symbol.asyncDispose closes it like control.close()', async () => {
    const t = setup({ probe: async () => {} });
    t.sms.control.markDown(0);
    expect(t.clock.pendingTimers).toBe(1);
    await t.sms[Symbol.asyncDispose]();
    expect(t.clock.pendingTimers).toBe(0);
    await t.sms.control[Symbol.asyncDispose](); // idempotent
    expect(await t.sms.send('1')).toBe('b:ok'); // calls keep working
  });
});

describe('healthFailover: decay, cancellation, control, options', () => {
  it('time-based decay forgets old errors with time, call-based decay only with calls', async () => {
    const byTime = setup({ decay: { halfLifeMs: 1_000 }, minSamples: 100 });
    const byCalls = setup({ decay: { halfLifeCalls: 5 }, minSamples: 100 });
    for (const t of [byTime, byCalls]) {
      t.a.failing();
      await t.calls(4);
      t.clock.advance(10_000);
      t.a.ok();
      await t.calls(1);
    }
    const rate = (t: Setup) => t.sms.control.health()[0]!.errorRate;
    expect(rate(byTime)).toBeCloseTo(4 / 1024 / (4 / 1024 + 1), 6);
    expect(rate(byCalls)).toBeGreaterThan(0.7);
  });

  it('alpha decay is the classic EWMA weight of the newest sample', async () => {
    const t = setup({ decay: { alpha: 0.5 }, minSamples: 100 });
    await t.calls(1); // 0
    t.a.failing();
    await t.calls(1); // 1: (0 * 0.5 + 1) / (1 * 0.5 + 1) = 2/3
    expect(t.sms.control.health()[0]!.errorRate).toBeCloseTo(2 / 3, 10);
  });

  it('the caller aborting is not a sample and stops at once', async () => {
    const t = setup();
    const controller = new AbortController();
    t.a.behaviour = (_p, signal) =>
      new Promise((_, reject) =>
        signal?.addEventListener('abort', () => reject(new Error('socket closed'))),
      );
    const call = t.sms.send('1', { signal: controller.signal });
    await flush();
    controller.abort();
    await expect(call).rejects.toBeInstanceOf(AbortedError);
    expect(t.b.calls).toBe(0);
    expect(t.sms.control.health()[0]!.samples).toBe(0);
    await expect(t.sms.send('1', { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(
      AbortedError,
    );
    expect(t.a.calls).toBe(1);
  });

  it('markDown / markUp override the detector and emit events', async () => {
    const t = setup();
    const control = t.sms.control;
    control.markDown(0);
    expect(await t.calls(2)).toEqual(['b:ok', 'b:ok']);
    control.markUp(0);
    expect(await t.calls(1)).toEqual(['a:ok']);
    expect(t.log.down).toEqual([expect.objectContaining({ index: 0, reason: 'manual' })]);
    expect(t.log.restore).toEqual([{ index: 0, manual: true }]);
    expect(() => control.markDown(5)).toThrow(InvalidArgumentError);
    // @ts-expect-error an index must be a number
    expect(() => control.markUp('0')).toThrow(InvalidArgumentError);
  });

  it('rejects bad options naming each field', () => {
    const a = new FakeSms('a');
    expect(
      optionPaths(() =>
        healthFailover([a], {
          // @ts-expect-error two decay forms at once
          decay: { halfLifeCalls: 5, alpha: 0.2 },
          baselineDecay: { alpha: 1 },
          minSamples: 0,
          maxErrorRate: 1.5,
          maxLatencyRatio: 1,
          outlierFactor: 0.5,
          probeIntervalMs: -1,
          restoreAfter: 0,
          // @ts-expect-error unknown preference
          prefer: 'fastest',
        }),
      ),
    ).toEqual([
      'decay.alpha',
      'baselineDecay.alpha',
      'minSamples',
      'maxErrorRate',
      'maxLatencyRatio',
      'outlierFactor',
      'probeIntervalMs',
      'restoreAfter',
      'prefer',
    ]);
  });
});
