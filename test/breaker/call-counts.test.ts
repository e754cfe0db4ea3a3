// callCounts is kept on the untimed hot path and on the tracked path alike: a breaker
// nobody listens to must count exactly what a fully observed one reports as events.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { circuitBreaker, consecutiveFailures } from '../../src/breaker/index.js';
import { manualClock } from '../../src/core/index.js';

type Step = 'ok' | 'fail' | 'cancel' | 'harmless';

const make = (callSampleEvery = 10) =>
  circuitBreaker({
    name: 'counts',
    policy: consecutiveFailures({ threshold: 3 }),
    openMs: 1_000,
    halfOpen: { probes: 1, ramp: [] },
    isFailure: (e) => (e as Error).message !== 'harmless',
    clock: manualClock(),
    callSampleEvery,
  });

async function drive(breaker: ReturnType<typeof make>, steps: readonly Step[]): Promise<void> {
  for (const step of steps) {
    const cancel = new AbortController();
    const call = breaker.execute((signal) => {
      if (step === 'ok') return 1;
      if (step === 'fail') throw new Error('down');
      if (step === 'harmless') throw new Error('harmless');
      return new Promise((_, reject) =>
        signal?.addEventListener('abort', () => reject(signal.reason)),
      );
    }, cancel.signal);
    if (step === 'cancel') cancel.abort(new Error('gone'));
    await call.catch(() => {});
  }
}

describe('breaker callCounts', () => {
  it('match the events of an observed twin, whatever the sequence (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom<Step>('ok', 'fail', 'cancel', 'harmless'), { maxLength: 60 }),
        async (steps) => {
          const quiet = make();
          const observed = make();
          const seen = { success: 0, failure: 0, rejected: 0, ignored: 0 };
          observed.events.on('success', () => seen.success++);
          observed.events.on('failure', () => seen.failure++);
          observed.events.on('rejected', () => seen.rejected++);
          observed.events.on('ignored', () => seen.ignored++);
          await drive(quiet, steps);
          await drive(observed, steps);
          expect(observed.callCounts).toEqual(seen);
          expect(quiet.callCounts).toEqual(seen);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('is a snapshot: mutating the returned object changes nothing', async () => {
    const breaker = make();
    await breaker.execute(async () => 1);
    const counts = breaker.callCounts as { success: number };
    counts.success = 99;
    expect(breaker.callCounts.success).toBe(1);
  });
});

describe('breaker callSample', () => {
  it('times one admitted call in callSampleEvery, on the hot path and off it', async () => {
    const breaker = make(4);
    const samples: string[] = [];
    breaker.events.on('callSample', (e) => samples.push(`${e.outcome}:${e.state}`));
    await drive(breaker, ['ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'harmless', 'fail']);
    expect(samples).toEqual(['success:closed', 'failure:closed']);
    // With a per-call listener every call is tracked; the sampling rate stays the same.
    breaker.events.on('success', () => {});
    await drive(breaker, ['ok', 'ok', 'ok', 'ok']);
    expect(samples).toEqual(['success:closed', 'failure:closed', 'success:closed']);
  });

  it('callSampleEvery: 1 times every call; 0 and fractions are refused', () => {
    expect(() => make(0)).toThrow(/callSampleEvery/);
    expect(() => make(1.5)).toThrow(/callSampleEvery/);
    expect(make(1).callCounts).toEqual({ success: 0, failure: 0, rejected: 0, ignored: 0 });
  });

  it('durations come from the breaker clock', async () => {
    const clock = manualClock();
    const breaker = circuitBreaker({ clock, callSampleEvery: 1 });
    const durations: number[] = [];
    breaker.events.on('callSample', (e) => durations.push(e.durationMs));
    await breaker.execute(async () => {
      clock.advance(42);
      return 1;
    });
    expect(durations).toEqual([42]);
  });
});
