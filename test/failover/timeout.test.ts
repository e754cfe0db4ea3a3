import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AbortedError,
  InvalidArgumentError,
  manualClock,
  TimeoutError,
} from '../../src/core/index.js';
import { type FailoverEvents, isTimeoutError, timeoutFailover } from '../../src/failover/index.js';
import { type Deferred, deferred, FakeSms, flush, optionPaths, type Sms } from './fakes.js';

const timeout = () => new TimeoutError(1_000);

/** Providers whose every call returns a deferred the test settles; `pending[i]` lists them. */
function controlled(n: number) {
  const pending: Deferred<string>[][] = Array.from({ length: n }, () => []);
  const targets = pending.map(
    (list, i) =>
      new FakeSms(`t${i}`, () => {
        const d = deferred<string>();
        list.push(d);
        return d.promise;
      }),
  );
  return { targets, pending };
}

describe('timeoutFailover: sequential behaviour', () => {
  it('stays on the current target until threshold timeouts in a row, then switches once', async () => {
    const [a, b] = [new FakeSms('a'), new FakeSms('b')];
    const sms = timeoutFailover<Sms>([a, b], { threshold: 3 });
    const control = sms.control;
    a.behaviour = () => Promise.reject(timeout());
    for (let i = 1; i <= 2; i++) {
      await expect(sms.send('1')).rejects.toBeInstanceOf(TimeoutError);
      expect(control).toMatchObject({ current: 0, streak: i });
    }
    await expect(sms.send('1')).rejects.toBeInstanceOf(TimeoutError); // the third: the call still fails
    expect(control).toMatchObject({ current: 1, streak: 0 });
    await expect(sms.send('1')).resolves.toBe('b:ok');
    expect([a.calls, b.calls]).toEqual([3, 1]);
  });

  it('a success resets the streak', async () => {
    const a = new FakeSms('a');
    const sms = timeoutFailover<Sms>([a, new FakeSms('b')], { threshold: 2 });
    const outcomes = ['timeout', 'ok', 'timeout', 'ok', 'timeout'];
    for (const o of outcomes) {
      a.behaviour = o === 'ok' ? () => 'a:ok' : () => Promise.reject(timeout());
      await sms.send('1').catch(() => {});
    }
    expect(sms.control).toMatchObject({ current: 0, streak: 1 });
  });

  it('non-timeout errors go back to the caller and neither count nor reset the streak', async () => {
    const a = new FakeSms('a');
    const sms = timeoutFailover<Sms>([a, new FakeSms('b')], { threshold: 2 });
    a.behaviour = () => Promise.reject(timeout());
    await sms.send('1').catch(() => {});
    a.failing('400 bad request');
    for (let i = 0; i < 5; i++) await expect(sms.send('1')).rejects.toThrow('400 bad request');
    expect(sms.control).toMatchObject({ current: 0, streak: 1 });
    a.behaviour = () => Promise.reject(timeout());
    await sms.send('1').catch(() => {});
    expect(sms.control.current).toBe(1);
  });

  it('cycles through the targets and back to the first', async () => {
    const targets = [0, 1, 2].map((i) => new FakeSms(`t${i}`, () => Promise.reject(timeout())));
    const sms = timeoutFailover<Sms>(targets, { threshold: 1 });
    const path: number[] = [];
    sms.events.on('switch', ({ to }) => path.push(to));
    for (let i = 0; i < 4; i++) await sms.send('1').catch(() => {});
    expect(path).toEqual([1, 2, 0, 1]);
  });

  it('uses isTimeout to decide what a timeout is', async () => {
    const a = new FakeSms('a').failing('EOF');
    const sms = timeoutFailover<Sms>([a, new FakeSms('b')], {
      threshold: 2,
      isTimeout: (e) => (e as Error).message === 'EOF',
    });
    await sms.send('1').catch(() => {});
    await sms.send('1').catch(() => {});
    expect(sms.control.current).toBe(1);
  });

  it('the default isTimeout recognises girder, DOM and Node timeout errors only', () => {
    expect(isTimeoutError(new TimeoutError(5))).toBe(true);
    expect(isTimeoutError(new DOMException('t', 'TimeoutError'))).toBe(true);
    expect(isTimeoutError(Object.assign(new Error('x'), { code: 'ETIMEDOUT' }))).toBe(true);
    expect(isTimeoutError(Object.assign(new Error('x'), { code: 'UND_ERR_HEADERS_TIMEOUT' }))).toBe(
      true,
    );
    expect(isTimeoutError(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }))).toBe(false);
    expect(isTimeoutError(new Error('timeout'))).toBe(false);
    expect(isTimeoutError('ETIMEDOUT')).toBe(false);
  });

  it('timeoutMs turns a hanging call into a TimeoutError on the given clock', async () => {
    const clock = manualClock();
    const a = new FakeSms('a', () => new Promise<string>(() => {}));
    const sms = timeoutFailover<Sms>([a, new FakeSms('b')], {
      threshold: 2,
      timeoutMs: 500,
      clock,
    });
    for (let i = 0; i < 2; i++) {
      const call = sms.send('1');
      await clock.advanceAsync(500);
      await expect(call).rejects.toBeInstanceOf(TimeoutError);
    }
    await expect(sms.send('1')).resolves.toBe('b:ok');
  });
});

describe('timeoutFailover: concurrency', () => {
  it('many overlapping calls timing out on the same target switch exactly once', async () => {
    const { targets, pending } = controlled(3);
    const sms = timeoutFailover<Sms>(targets, { threshold: 3 });
    const switches: FailoverEvents['switch'][] = [];
    sms.events.on('switch', (e) => switches.push(e));

    const calls = Array.from({ length: 50 }, () => sms.send('1').catch((e: unknown) => e));
    await flush();
    expect(pending[0]).toHaveLength(50); // all started on target 0
    for (const d of pending[0]!) d.reject(timeout());
    const results = await Promise.all(calls);
    expect(results.every((r) => r instanceof TimeoutError)).toBe(true);
    expect(switches).toHaveLength(1);
    expect(switches[0]).toMatchObject({ from: 0, to: 1, reason: 'timeouts' });
    expect(sms.control).toMatchObject({ current: 1, streak: 0 });
  });

  it('stragglers from the old target neither count against nor reset the new one', async () => {
    const { targets, pending } = controlled(2);
    const sms = timeoutFailover<Sms>(targets, { threshold: 2 });
    const old = Array.from({ length: 6 }, () => sms.send('1').catch(() => {}));
    await flush();
    pending[0]![0]!.reject(timeout());
    pending[0]![1]!.reject(timeout());
    await flush();
    expect(sms.control.current).toBe(1);

    const fresh = sms.send('1').catch(() => {});
    await flush();
    pending[1]![0]!.reject(timeout()); // one timeout on the new target
    await fresh;
    expect(sms.control.streak).toBe(1);
    pending[0]![2]!.resolve('late success'); // must not reset the new target's streak
    for (const d of pending[0]!.slice(3)) d.reject(timeout()); // must not count against it
    await Promise.all(old);
    expect(sms.control).toMatchObject({ current: 1, streak: 1 });
  });

  it('a straggler started before a switch away and back does not count on return', async () => {
    const { targets, pending } = controlled(2);
    const sms = timeoutFailover<Sms>(targets, { threshold: 2 });
    const control = sms.control;
    const straggler = sms.send('1').catch(() => {});
    await flush();
    control.switchTo(1);
    control.switchTo(0); // back on target 0, a new streak
    pending[0]![0]!.reject(timeout());
    await straggler;
    expect(control).toMatchObject({ current: 0, streak: 0 });
  });

  it('property: under any interleaving, every switch is preceded by threshold timeouts of calls that started on the target it leaves since it became current', async () => {
    type Op =
      | { kind: 'start'; count: number }
      | { kind: 'settle'; pick: number; outcome: 'timeout' | 'ok' | 'error' };
    const op = fc.oneof(
      fc.record({ kind: fc.constant('start' as const), count: fc.integer({ min: 1, max: 5 }) }),
      fc.record({
        kind: fc.constant('settle' as const),
        pick: fc.nat(),
        outcome: fc.constantFrom('timeout' as const, 'ok' as const, 'error' as const),
      }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 2, max: 4 }),
        fc.array(op, { maxLength: 60 }),
        async (threshold, n, ops: Op[]) => {
          const inFlight: {
            target: number;
            era: number;
            d: Deferred<string>;
            done: Promise<unknown>;
          }[] = [];
          let switches = 0;
          let lastStarted = -1;
          const targets = Array.from(
            { length: n },
            (_, i) =>
              new FakeSms(`t${i}`, () => {
                lastStarted = i;
                const d = deferred<string>();
                inFlight[inFlight.length - 1]!.d = d;
                return d.promise;
              }),
          );
          const sms = timeoutFailover<Sms>(targets, { threshold });
          // Log of completions: which target the call started on and how it ended, and switches.
          const log: (
            | { started: number; era: number; outcome: string }
            | { switchFrom: number; switchTo: number }
          )[] = [];
          sms.events.on('switch', ({ from, to }) => {
            switches++;
            log.push({ switchFrom: from, switchTo: to });
          });

          for (const o of ops) {
            if (o.kind === 'start') {
              for (let i = 0; i < o.count; i++) {
                const entry = {
                  target: -1,
                  era: -1,
                  d: deferred<string>(),
                  done: Promise.resolve() as Promise<unknown>,
                };
                inFlight.push(entry);
                entry.done = sms.send('1').catch(() => {});
                await flush(2);
                entry.target = lastStarted;
                entry.era = switches;
              }
            } else if (inFlight.length > 0) {
              const [call] = inFlight.splice(o.pick % inFlight.length, 1);
              log.push({ started: call!.target, era: call!.era, outcome: o.outcome });
              if (o.outcome === 'ok') call!.d.resolve('ok');
              else call!.d.reject(o.outcome === 'timeout' ? timeout() : new Error('other'));
              await call!.done;
            }
          }

          // Replay the log: count timeouts of calls that started on the current target
          // since it last became current; a switch needs threshold of them, from the current one.
          let current = 0;
          let streak = 0;
          let era = 0; // switches so far: only calls started in the current era count
          for (const entry of log) {
            if ('switchFrom' in entry) {
              expect(entry.switchFrom).toBe(current);
              expect(entry.switchTo).toBe((current + 1) % n);
              expect(streak).toBe(threshold);
              current = entry.switchTo;
              era++;
              streak = 0;
            } else if (entry.era === era) {
              expect(entry.started).toBe(current);
              if (entry.outcome === 'timeout') streak++;
              else if (entry.outcome === 'ok') streak = 0;
            }
            expect(streak).toBeLessThanOrEqual(threshold);
          }
          expect(sms.control.current).toBe(current);
          expect(sms.control.streak).toBe(streak === threshold ? 0 : streak);
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('timeoutFailover: cancellation, control and options', () => {
  it("the caller's own deadline is rethrown as AbortedError and never counted as a timeout", async () => {
    // The seeds' Go version counted context.DeadlineExceeded (the caller's deadline) as a
    // provider timeout; here the target rejects with the caller signal's TimeoutError reason.
    const controller = new AbortController();
    const a = new FakeSms(
      'a',
      (_p, signal) =>
        new Promise((_, reject) => signal?.addEventListener('abort', () => reject(signal.reason))),
    );
    const sms = timeoutFailover<Sms>([a, new FakeSms('b')], { threshold: 1 });
    const call = sms.send('1', { signal: controller.signal });
    await flush();
    controller.abort(new DOMException('caller deadline', 'TimeoutError'));
    await expect(call).rejects.toBeInstanceOf(AbortedError);
    expect(sms.control).toMatchObject({ current: 0, streak: 0 });
  });

  it('an already aborted call never reaches the target', async () => {
    const a = new FakeSms('a');
    const sms = timeoutFailover<Sms>([a]);
    await expect(sms.send('1', { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(
      AbortedError,
    );
    expect(a.calls).toBe(0);
  });

  it('switchTo moves calls by hand and emits a manual switch', async () => {
    const [a, b] = [new FakeSms('a'), new FakeSms('b')];
    const sms = timeoutFailover<Sms>([a, b], { initial: 1 });
    await expect(sms.send('1')).resolves.toBe('b:ok');
    const seen: FailoverEvents['switch'][] = [];
    sms.events.on('switch', (e) => seen.push(e));
    sms.control.switchTo(0);
    sms.control.switchTo(0); // no-op: already there
    await expect(sms.send('1')).resolves.toBe('a:ok');
    expect(seen).toEqual([{ from: 1, to: 0, reason: 'manual' }]);
    expect(() => sms.control.switchTo(2)).toThrow(InvalidArgumentError);
  });

  it('rejects bad options naming each field', () => {
    const a = new FakeSms('a');
    expect(
      optionPaths(() =>
        // @ts-expect-error wrong types on purpose
        timeoutFailover([a], { threshold: 0, isTimeout: 'yes', timeoutMs: -1, clock: {} }),
      ),
    ).toEqual(['threshold', 'isTimeout', 'timeoutMs', 'clock']);
    expect(() => timeoutFailover([a], { initial: 1 })).toThrow(/initial/);
  });
});

describe('timeoutFailover: the per-call deadline reaches the target', () => {
  it('with timeoutMs, the target gets a signal that fires at the deadline (not the caller signal)', async () => {
    const clock = manualClock();
    let seen: AbortSignal | undefined;
    const a = new FakeSms('a', (_phone, signal) => {
      seen = signal;
      return new Promise<string>(() => {});
    });
    const sms = timeoutFailover<Sms>([a, new FakeSms('b')], { timeoutMs: 300, clock });
    const caller = new AbortController();
    const call = sms.send('1', { signal: caller.signal }).catch((e: unknown) => e);
    await flush();
    expect(seen).toBeDefined();
    expect(seen).not.toBe(caller.signal);
    expect(seen!.aborted).toBe(false);
    await clock.advanceAsync(300);
    expect(await call).toBeInstanceOf(TimeoutError);
    expect(seen!.aborted).toBe(true);
    expect(caller.signal.aborted).toBe(false);
    expect(sms.control.streak).toBe(1);
  });
});
