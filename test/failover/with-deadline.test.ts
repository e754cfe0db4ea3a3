import { describe, expect, it } from 'vitest';
import { AbortedError, manualClock, TimeoutError } from '../../src/core/index.js';
import { type DeadlineEvents, withDeadline } from '../../src/failover/index.js';
import { deferred, FakeSms, flush, type Sms } from './fakes.js';

describe('withDeadline', () => {
  it('answers within the deadline unchanged', async () => {
    const sms = withDeadline<Sms>(new FakeSms('a'), { timeoutMs: 100, clock: manualClock() });
    expect(await sms.send('1')).toBe('a:ok');
    expect(sms.control.timeoutMs).toBe(100);
  });

  it('a call pending at its deadline rejects with TimeoutError, fires the signal the target got, and emits timeout', async () => {
    const clock = manualClock();
    let seen: AbortSignal | undefined;
    const pending = deferred<string>();
    const target = new FakeSms('a', (_phone, signal) => {
      seen = signal;
      return pending.promise;
    });
    const sms = withDeadline<Sms>(target, { timeoutMs: 200, clock });
    const timeouts: DeadlineEvents['timeout'][] = [];
    sms.events.on('timeout', (e) => timeouts.push(e));
    const caller = new AbortController();
    const call = sms.send('1', { signal: caller.signal }).catch((e: unknown) => e);
    await flush();
    await clock.advanceAsync(200);
    expect(await call).toBeInstanceOf(TimeoutError);
    expect(seen).toBeDefined();
    expect(seen).not.toBe(caller.signal);
    expect(seen!.aborted).toBe(true);
    expect(timeouts).toEqual([{ method: 'send', timeoutMs: 200 }]);
  });

  it("the caller's abort is AbortedError, not a timeout", async () => {
    const clock = manualClock();
    const sms = withDeadline<Sms>(new FakeSms('a', () => new Promise<string>(() => {})), {
      timeoutMs: 1_000,
      clock,
    });
    const timeouts: unknown[] = [];
    sms.events.on('timeout', (e) => timeouts.push(e));
    const caller = new AbortController();
    const call = sms.send('1', { signal: caller.signal }).catch((e: unknown) => e);
    caller.abort();
    expect(await call).toBeInstanceOf(AbortedError);
    expect(timeouts).toEqual([]);
  });
});
