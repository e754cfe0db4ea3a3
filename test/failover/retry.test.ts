import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AbortedError,
  constant,
  exponential,
  InvalidArgumentError,
  manualClock,
  TimeoutError,
} from '../../src/core/index.js';
import { type RetryEvents, retry, retryBudget, withRetry } from '../../src/failover/index.js';
import { flush, optionPaths } from './fakes.js';

const noWait = constant({ delayMs: 0 });

describe('retry', () => {
  it('returns the first success, passing the attempt number', async () => {
    const seen: number[] = [];
    const result = await retry(
      async (attempt) => {
        seen.push(attempt);
        if (attempt < 3) throw new Error(`fail ${attempt}`);
        return 'done';
      },
      { attempts: 5, backoff: noWait },
    );
    expect(result).toBe('done');
    expect(seen).toEqual([1, 2, 3]);
  });

  it('waits the backoff between attempts on the given clock', async () => {
    const clock = manualClock();
    const startedAt: number[] = [];
    const done = retry(
      async () => {
        startedAt.push(clock.now());
        if (startedAt.length < 4) throw new Error('blip');
        return 'ok';
      },
      {
        attempts: 4,
        backoff: exponential({ initialMs: 100, factor: 2, jitter: 'none' }),
        clock,
      },
    );
    await clock.advanceAsync(99);
    expect(startedAt).toEqual([0]);
    await clock.advanceAsync(1_000);
    await expect(done).resolves.toBe('ok');
    expect(startedAt).toEqual([0, 100, 300, 700]);
  });

  it('passes the previous delay to the backoff (decorrelated jitter grows from it)', async () => {
    const clock = manualClock();
    const delays: number[] = [];
    const svc = withRetry(
      { run: async () => Promise.reject(new Error('x')) },
      {
        attempts: 4,
        backoff: exponential({
          initialMs: 10,
          maxMs: 10_000,
          jitter: 'decorrelated',
          random: () => 1,
        }),
        clock,
      },
    );
    svc.events.on('retry', ({ delayMs }) => delays.push(delayMs));
    const done = svc.run().catch(() => {});
    await clock.advanceAsync(10_000);
    await done;
    expect(delays).toEqual([10, 30, 90]);
  });

  it('rethrows the last error unchanged when attempts run out, and says why', async () => {
    const giveUps: RetryEvents['giveUp'][] = [];
    const root = new Error('root');
    const errors = [new Error('first'), new Error('second'), new Error('last', { cause: root })];
    let i = 0;
    const svc = withRetry(
      { run: async () => Promise.reject(errors[i++]) },
      { attempts: 3, backoff: noWait },
    );
    svc.events.on('giveUp', (e) => giveUps.push(e));
    const err = await svc.run().catch((e: unknown) => e);
    expect(err).toBe(errors[2]);
    expect((err as Error).cause).toBe(root);
    expect(giveUps).toEqual([{ method: 'run', attempts: 3, reason: 'attempts', error: errors[2] }]);
  });

  it('shouldRetry stops at once on errors not worth retrying; bugs are not retried by default', async () => {
    let calls = 0;
    const notFound = new Error('404');
    await expect(
      retry(
        async () => {
          calls++;
          throw notFound;
        },
        { attempts: 5, backoff: noWait, shouldRetry: (e) => e !== notFound },
      ),
    ).rejects.toBe(notFound);
    expect(calls).toBe(1);

    calls = 0;
    await expect(
      retry(
        async () => {
          calls++;
          throw new InvalidArgumentError('key', 'must not be empty');
        },
        { attempts: 5, backoff: noWait },
      ),
    ).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(calls).toBe(1);
  });

  it('turns a synchronous throw of fn into an attempt like any other', async () => {
    let calls = 0;
    const result = await retry(
      (attempt) => {
        calls++;
        if (attempt === 1) throw new Error('sync');
        return Promise.resolve('ok');
      },
      { backoff: noWait },
    );
    expect([result, calls]).toEqual(['ok', 2]);
  });

  it('the caller aborting during a backoff wait stops at once, without another attempt', async () => {
    const clock = manualClock();
    const controller = new AbortController();
    let calls = 0;
    const done = retry(
      async () => {
        calls++;
        throw new Error('blip');
      },
      { attempts: 5, backoff: constant({ delayMs: 1_000 }), clock, signal: controller.signal },
    );
    await clock.advanceAsync(500);
    controller.abort();
    await expect(done).rejects.toBeInstanceOf(AbortedError);
    await clock.advanceAsync(10_000);
    expect(calls).toBe(1);
  });

  it('the caller aborting during an attempt is rethrown as AbortedError, never retried nor charged to the budget', async () => {
    const controller = new AbortController();
    const budget = retryBudget({ ratio: 1, minPerSec: 0, clock: manualClock() });
    let calls = 0;
    const done = retry(
      (_attempt, signal) => {
        calls++;
        return new Promise((_, reject) =>
          signal?.addEventListener('abort', () => reject(new Error('socket hang up'))),
        );
      },
      { attempts: 5, backoff: noWait, signal: controller.signal, budget },
    );
    await flush();
    controller.abort();
    await expect(done).rejects.toBeInstanceOf(AbortedError);
    expect(calls).toBe(1);
    expect(budget.stats()).toMatchObject({ calls: 1, retries: 0 });
    await expect(retry(async () => 'x', { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(
      AbortedError,
    );
  });

  it('attemptTimeoutMs gives each attempt its own deadline and signal', async () => {
    const clock = manualClock();
    const signals: AbortSignal[] = [];
    const done = retry(
      (attempt, signal) => {
        signals.push(signal!);
        return attempt < 3 ? new Promise<string>(() => {}) : Promise.resolve('third time lucky');
      },
      { attempts: 3, backoff: noWait, attemptTimeoutMs: 200, clock },
    );
    await clock.advanceAsync(200);
    await clock.advanceAsync(200);
    await expect(done).resolves.toBe('third time lucky');
    expect(signals.map((s) => s.aborted)).toEqual([true, true, false]);
    expect(signals[0]!.reason).toBeInstanceOf(TimeoutError);
  });

  it('rejects bad options naming each field, and a non-function fn', async () => {
    expect(
      await (async () => {
        try {
          // @ts-expect-error wrong types on purpose
          await retry(async () => 1, { attempts: 0, backoff: 5, attemptTimeoutMs: 0 });
        } catch (e) {
          return optionPaths(() => {
            throw e;
          });
        }
      })(),
    ).toEqual(['attempts', 'backoff', 'attemptTimeoutMs']);
    // @ts-expect-error not a function
    await expect(retry('nope')).rejects.toBeInstanceOf(InvalidArgumentError);
  });
});

describe('retryBudget', () => {
  it('caps retries under a total outage at the configured fraction of calls', async () => {
    const clock = manualClock();
    const budget = retryBudget({ ratio: 0.1, minPerSec: 0, windowMs: 10_000, clock });
    const reasons: Record<string, number> = {};
    let downstreamCalls = 0;
    const down = async () => {
      downstreamCalls++;
      throw new Error('503');
    };
    const svc = withRetry({ down }, { attempts: 3, backoff: noWait, budget, clock });
    svc.events.on('giveUp', ({ reason }) => {
      reasons[reason] = (reasons[reason] ?? 0) + 1;
    });
    for (let i = 0; i < 1_000; i++) await svc.down().catch(() => {});
    // Without a budget: 3 000 calls downstream. With it: 1 000 first attempts + 100 retries.
    expect(downstreamCalls).toBe(1_100);
    expect(budget.stats()).toMatchObject({ calls: 1_000, retries: 100 });
    expect(reasons).toEqual({ budget: 1_000 });
  });

  it('concurrent callers share the budget', async () => {
    const clock = manualClock();
    const budget = retryBudget({ ratio: 0.2, minPerSec: 0, clock });
    let downstreamCalls = 0;
    await Promise.all(
      Array.from({ length: 500 }, () =>
        retry(
          async () => {
            downstreamCalls++;
            throw new Error('503');
          },
          { attempts: 4, backoff: constant({ delayMs: 10 }), budget, clock },
        ).catch(() => {}),
      ).concat([clock.advanceAsync(100)]),
    );
    expect(downstreamCalls).toBe(600);
  });

  it('minPerSec lets a trickle of retries through even with few calls', () => {
    const clock = manualClock();
    const budget = retryBudget({ ratio: 0, minPerSec: 1, windowMs: 5_000, clock });
    let granted = 0;
    while (budget.tryAcquire()) granted++;
    expect(granted).toBe(5);
    expect(budget.canRetry()).toBe(false);
  });

  it('forgets calls and retries that slid out of the window', () => {
    const clock = manualClock();
    const budget = retryBudget({ ratio: 0.5, minPerSec: 0, windowMs: 1_000, buckets: 10, clock });
    for (let i = 0; i < 10; i++) budget.recordCall();
    expect(budget.stats()).toEqual({ calls: 10, retries: 0, available: 5 });
    for (let i = 0; i < 5; i++) expect(budget.tryAcquire()).toBe(true);
    expect(budget.tryAcquire()).toBe(false);
    clock.advance(500);
    for (let i = 0; i < 4; i++) budget.recordCall(); // in a later bucket
    expect(budget.stats()).toEqual({ calls: 14, retries: 5, available: 2 });
    clock.advance(600); // the first bucket (10 calls, 5 retries) has left the window
    expect(budget.stats()).toEqual({ calls: 4, retries: 0, available: 2 });
    clock.advance(10_000);
    expect(budget.stats()).toEqual({ calls: 0, retries: 0, available: 0 });
  });

  it('property: retries in any window never exceed ratio x calls + the per-second reserve', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.integer({ min: 0, max: 5 }),
        fc.array(
          fc.record({
            op: fc.constantFrom('call', 'retry', 'retry', 'wait'),
            ms: fc.integer({ min: 0, max: 300 }),
          }),
          { maxLength: 200 },
        ),
        (ratio, minPerSec, ops) => {
          const clock = manualClock();
          const windowMs = 1_000;
          const budget = retryBudget({ ratio, minPerSec, windowMs, buckets: 10, clock });
          const history: { at: number; kind: 'call' | 'retry' }[] = [];
          const window = () => {
            // The budget's window: the current 100 ms bucket and the 9 before it.
            const from = (Math.floor(clock.now() / 100) - 9) * 100;
            const recent = history.filter((h) => h.at >= from);
            const calls = recent.filter((h) => h.kind === 'call').length;
            return { calls, retries: recent.length - calls };
          };
          for (const { op, ms } of ops) {
            if (op === 'wait') clock.advance(ms);
            else if (op === 'call') {
              budget.recordCall();
              history.push({ at: clock.now(), kind: 'call' });
            } else {
              const before = window();
              const granted = budget.tryAcquire();
              // Granted exactly when one more retry stays within the allowance.
              expect(granted).toBe(minPerSec + ratio * before.calls - before.retries >= 1);
              if (granted) history.push({ at: clock.now(), kind: 'retry' });
            }
            expect(budget.stats()).toMatchObject(window());
          }
        },
      ),
    );
  });

  it('rejects bad options naming each field', () => {
    expect(
      optionPaths(() => retryBudget({ ratio: -1, minPerSec: -1, windowMs: 0, buckets: 0 })),
    ).toEqual(['ratio', 'minPerSec', 'windowMs', 'buckets']);
  });
});
