import { describe, expect, it } from 'vitest';
import { isGirderError, manualClock } from '../../src/core/index.js';
import {
  failover,
  healthFailover,
  retry,
  retryBudget,
  stickyBucket,
  timeoutFailover,
  trafficSplit,
  withDeadline,
  withRetry,
} from '../../src/failover/index.js';
import { FakeSms, optionPaths, type Sms } from './fakes.js';

/** What a rejection or throw was, as its girder code ('TypeError' when it was not coded). */
async function codeOf(run: () => unknown): Promise<string> {
  try {
    await run();
  } catch (err) {
    return isGirderError(err) ? err.code : (err as Error).name;
  }
  return 'resolved';
}

// biome-ignore lint/suspicious/noExplicitAny: wrong types on purpose, as a JavaScript caller would pass them.
const notASignal: any = new AbortController();
const badSignalOf = () => notASignal;

describe('issue 9 defect 4: a non-AbortSignal signal is INVALID_ARGUMENT, and nothing runs', () => {
  it('retry({ signal: new AbortController() }) rejects before calling fn or touching the budget', async () => {
    let calls = 0;
    const budget = retryBudget({ clock: manualClock() });
    const code = await codeOf(() =>
      retry(
        async () => {
          calls++;
        },
        { signal: notASignal, budget },
      ),
    );
    expect(code).toBe('INVALID_ARGUMENT');
    expect(calls).toBe(0);
    expect(budget.stats().calls).toBe(0);
  });

  it('retry accepts a signal from another realm (AbortSignal-shaped)', async () => {
    const real = new AbortController().signal;
    const shaped = {
      aborted: false,
      reason: undefined,
      addEventListener: real.addEventListener.bind(real),
      removeEventListener: real.removeEventListener.bind(real),
    } as unknown as AbortSignal;
    await expect(retry(async () => 'ok', { signal: shaped })).resolves.toBe('ok');
  });

  const decorators: [string, (a: Sms, b: Sms) => Sms][] = [
    ['failover', (a, b) => failover([a, b], { signalOf: badSignalOf })],
    [
      'failover round-robin',
      (a, b) => failover([a, b], { strategy: 'round-robin', signalOf: badSignalOf }),
    ],
    [
      'timeoutFailover',
      (a, b) => timeoutFailover([a, b], { signalOf: badSignalOf, timeoutMs: 1_000 }),
    ],
    ['healthFailover', (a, b) => healthFailover([a, b], { signalOf: badSignalOf })],
    ['withRetry', (a) => withRetry(a, {}, { signalOf: badSignalOf })],
    ['withDeadline', (a) => withDeadline(a, { timeoutMs: 1_000 }, { signalOf: badSignalOf })],
  ];
  for (const [name, build] of decorators) {
    it(`${name}: a signalOf returning a non-signal rejects the call with INVALID_ARGUMENT, no target called`, async () => {
      const a = new FakeSms('a');
      const b = new FakeSms('b');
      const sms = build(a, b);
      expect(await codeOf(() => sms.send('1'))).toBe('INVALID_ARGUMENT');
      expect(a.calls + b.calls).toBe(0);
    });
  }
});

describe('issue 9 defect 5: durations are finite and >= 0 by schema, and long ones are kept', () => {
  it('refuses NaN, negative and infinite durations in every failover option', () => {
    const a = new FakeSms('a');
    const bad = [Number.NaN, -1, Number.POSITIVE_INFINITY];
    for (const ms of bad) {
      expect(optionPaths(() => timeoutFailover([a], { timeoutMs: ms }))).toEqual(['timeoutMs']);
      expect(optionPaths(() => healthFailover([a], { probeIntervalMs: ms }))).toEqual([
        'probeIntervalMs',
      ]);
      expect(optionPaths(() => healthFailover([a], { probeTimeoutMs: ms }))).toEqual([
        'probeTimeoutMs',
      ]);
      expect(optionPaths(() => healthFailover([a], { minLatencyIncreaseMs: ms }))).toEqual([
        'minLatencyIncreaseMs',
      ]);
      expect(optionPaths(() => healthFailover([a], { decay: { halfLifeMs: ms } }))).not.toEqual([]);
      expect(optionPaths(() => retryBudget({ windowMs: ms }))).toEqual(['windowMs']);
      expect(optionPaths(() => withRetry(a, { attemptTimeoutMs: ms }))).toEqual([
        'attemptTimeoutMs',
      ]);
      expect(optionPaths(() => withDeadline(a, { timeoutMs: ms }))).toEqual(['timeoutMs']);
    }
  });

  it('retry refuses a bad attemptTimeoutMs as a rejection naming it', async () => {
    const err = await retry(async () => 1, { attemptTimeoutMs: -1 }).catch((e: unknown) => e);
    expect(
      optionPaths(() => {
        throw err;
      }),
    ).toEqual(['attemptTimeoutMs']);
  });

  it('a 30-day deadline on the system clock does not fire at once (withDeadline, timeoutFailover, retry)', async () => {
    const month = 30 * 24 * 3_600_000;
    const never = { send: () => new Promise<string>(() => {}) };
    const calls = [
      withDeadline(never, { timeoutMs: month }).send(),
      timeoutFailover([never], { timeoutMs: month }).send(),
      retry(() => never.send(), { attemptTimeoutMs: month }),
    ];
    const settled = calls.map(() => false);
    for (const [i, p] of calls.entries()) {
      const done = () => {
        settled[i] = true;
      };
      p.then(done, done);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(settled).toEqual([false, false, false]);
  });
});

describe('issue 9 defect 8: bad runtime input gets a coded error, never a TypeError', () => {
  it('stickyBucket(null) is INVALID_ARGUMENT', async () => {
    // @ts-expect-error null on purpose
    expect(await codeOf(() => stickyBucket(null))).toBe('INVALID_ARGUMENT');
    // @ts-expect-error a number on purpose
    expect(await codeOf(() => stickyBucket(42))).toBe('INVALID_ARGUMENT');
  });

  it('a trafficSplit key function returning a non-string rejects that call with INVALID_ARGUMENT', async () => {
    const a = new FakeSms('a');
    const b = new FakeSms('b');
    // @ts-expect-error the key function returns a number on purpose
    const split = trafficSplit<Sms>({ primary: a, secondary: b, percent: 50, key: () => 7 });
    expect(await codeOf(() => split.send('1'))).toBe('INVALID_ARGUMENT');
    expect(a.calls + b.calls).toBe(0);
  });

  it('retry(fn, null) and retry(fn, 5) are INVALID_ARGUMENT', async () => {
    // @ts-expect-error null on purpose
    expect(await codeOf(() => retry(async () => 1, null))).toBe('INVALID_ARGUMENT');
    // @ts-expect-error a number on purpose
    expect(await codeOf(() => retry(async () => 1, 5))).toBe('INVALID_ARGUMENT');
  });

  it('control methods refuse non-integer indexes and percentages with INVALID_ARGUMENT', async () => {
    const a = new FakeSms('a');
    const b = new FakeSms('b');
    const health = healthFailover<Sms>([a, b], { clock: manualClock() });
    const timeouts = timeoutFailover<Sms>([a, b]);
    const split = trafficSplit<Sms>({ primary: a, secondary: b, percent: 50 });
    // biome-ignore lint/suspicious/noExplicitAny: wrong types on purpose.
    const junk: any[] = [null, '1', 1.5, -1, 2, Number.NaN];
    for (const j of junk) {
      expect(await codeOf(() => health.control.markDown(j))).toBe('INVALID_ARGUMENT');
      expect(await codeOf(() => health.control.markUp(j))).toBe('INVALID_ARGUMENT');
      expect(await codeOf(() => timeouts.control.switchTo(j))).toBe('INVALID_ARGUMENT');
    }
    for (const j of [null, '50', -1, 101, Number.NaN]) {
      // biome-ignore lint/suspicious/noExplicitAny: wrong types on purpose.
      expect(await codeOf(() => split.control.setPercent(j as any))).toBe('INVALID_ARGUMENT');
    }
    expect(split.control.percent).toBe(50);
  });

  it('every factory throws InvalidOptionsError naming a misspelt option', () => {
    const a = new FakeSms('a');
    // biome-ignore lint/suspicious/noExplicitAny: a misspelt option on purpose.
    const typo: any = { nmae: 'x' };
    expect(optionPaths(() => failover([a], typo))).toEqual(['']);
    expect(optionPaths(() => timeoutFailover([a], typo))).toEqual(['']);
    expect(optionPaths(() => healthFailover([a], typo))).toEqual(['']);
    expect(
      optionPaths(() => trafficSplit({ primary: a, secondary: a, percent: 1, ...typo })),
    ).toEqual(['']);
    expect(optionPaths(() => retryBudget(typo))).toEqual(['']);
    expect(optionPaths(() => withRetry(a, typo))).toEqual(['']);
    expect(optionPaths(() => withRetry(a, {}, typo))).toEqual(['']);
    expect(optionPaths(() => withDeadline(a, { timeoutMs: 1, ...typo }))).toEqual(['']);
    expect(optionPaths(() => withDeadline(a, { timeoutMs: 1 }, typo))).toEqual(['']);
  });
});
