import { describe, expect, it } from 'vitest';
import { circuitBreaker, consecutiveFailures, withBreaker } from '../../src/breaker/index.js';
import {
  AbortedError,
  constant,
  isGirderError,
  manualClock,
  TimeoutError,
} from '../../src/core/index.js';
import { failover, type RetryEvents, retryBudget, withRetry } from '../../src/failover/index.js';
import { deferred, FakeSms, flush, type Sms } from './fakes.js';

const noWait = constant({ delayMs: 0 });

describe('withRetry', () => {
  it('retries each call of the target and keeps its type, other members forwarded', async () => {
    const sms = new FakeSms('a');
    let failures = 2;
    sms.behaviour = () => {
      if (failures-- > 0) throw new Error('blip');
      return 'ok';
    };
    const retried: Sms = withRetry<Sms>(sms, { attempts: 3, backoff: noWait });
    expect(await retried.send('1')).toBe('ok');
    expect(sms.calls).toBe(3);
    expect(retried.name).toBe('a');
    expect(await retried.balance()).toBe(100);
  });

  it('emits retry and giveUp on .events, naming the method; .control names it', async () => {
    const sms = new FakeSms('a').failing('down');
    const retried = withRetry<Sms>(sms, { attempts: 2, backoff: noWait }, { name: 'sms' });
    const seen: string[] = [];
    retried.events.on('retry', (e) => seen.push(`retry:${e.method}:${e.attempt}`));
    retried.events.on('giveUp', (e) => seen.push(`giveUp:${e.method}:${e.reason}`));
    await expect(retried.send('1')).rejects.toThrow('down');
    expect(seen).toEqual(['retry:send:1', 'giveUp:send:attempts']);
    expect(retried.control).toEqual({ name: 'sms', attempts: 2 });
    expect(Object.keys(retried)).not.toContain('events');
  });

  it("the caller's abort during a backoff wait stops at once: AbortedError, no further attempt, no budget spent", async () => {
    const clock = manualClock();
    const budget = retryBudget({ clock, minPerSec: 100 });
    const sms = new FakeSms('a').failing();
    const retried = withRetry<Sms>(sms, {
      attempts: 5,
      backoff: constant({ delayMs: 1_000 }),
      budget,
      clock,
    });
    const controller = new AbortController();
    const call = retried.send('1', { signal: controller.signal }).catch((e: unknown) => e);
    await flush();
    expect(sms.calls).toBe(1);
    controller.abort(new Error('client left'));
    expect(await call).toBeInstanceOf(AbortedError);
    await clock.advanceAsync(5_000);
    expect(sms.calls).toBe(1);
    expect(budget.stats().retries).toBe(0);
  });

  it('hands each attempt its own signal where the caller put theirs (attemptTimeoutMs)', async () => {
    const clock = manualClock();
    const seen: (AbortSignal | undefined)[] = [];
    const first = deferred<string>();
    const sms = new FakeSms('a', (_phone, signal) => {
      seen.push(signal);
      return seen.length === 1 ? first.promise : 'second';
    });
    const retried = withRetry<Sms>(sms, {
      attempts: 2,
      backoff: noWait,
      attemptTimeoutMs: 500,
      clock,
    });
    const caller = new AbortController();
    const call = retried.send('1', { signal: caller.signal });
    await flush();
    await clock.advanceAsync(500);
    expect(await call).toBe('second');
    expect(seen).toHaveLength(2);
    expect(seen[0]).not.toBe(caller.signal);
    expect(seen[0]!.aborted).toBe(true);
    expect(seen[0]!.reason).toBeInstanceOf(TimeoutError);
    expect(seen[1]!.aborted).toBe(false);
    expect(caller.signal.aborted).toBe(false);
  });

  it('covers the shop: retry with a budget around a breaker, CIRCUIT_OPEN and 4xx not retried', async () => {
    const clock = manualClock();
    const breaker = circuitBreaker({
      policy: consecutiveFailures({ threshold: 3 }),
      openMs: 10_000,
      clock,
    });
    const provider = new FakeSms('pay').failing('503');
    const clientError = Object.assign(new Error('400'), { status: 400 });
    const isClientError = (err: unknown) => (err as { status?: number }).status === 400;
    const payments = withRetry<Sms>(
      withBreaker(provider, breaker),
      {
        attempts: 3,
        backoff: noWait,
        budget: retryBudget({ ratio: 0.2, minPerSec: 5, clock }),
        shouldRetry: (err) => !isClientError(err) && !isGirderError(err, 'CIRCUIT_OPEN'),
      },
      { name: 'payment-provider' },
    );
    const giveUps: RetryEvents['giveUp'][] = [];
    payments.events.on('giveUp', (e) => giveUps.push(e));

    await expect(payments.send('1')).rejects.toThrow('503'); // 3 attempts open the breaker
    expect(provider.calls).toBe(3);
    expect(breaker.state).toBe('open');
    const open = await payments.send('1').catch((e: unknown) => e);
    expect(isGirderError(open, 'CIRCUIT_OPEN')).toBe(true);
    expect(provider.calls).toBe(3); // failed fast, not retried
    expect(giveUps.map((g) => g.reason)).toEqual(['attempts', 'not-retryable']);

    await clock.advanceAsync(10_000);
    provider.behaviour = () => {
      throw clientError;
    };
    await expect(payments.send('1')).rejects.toBe(clientError);
    expect(provider.calls).toBe(4); // a 4xx is not retried
  });

  it("the caller's abort during an attempt is not a failure for the breaker inside, nor retried", async () => {
    const clock = manualClock();
    const breaker = circuitBreaker({ policy: consecutiveFailures({ threshold: 1 }), clock });
    const provider = new FakeSms('pay', (_phone, signal) => {
      return new Promise<string>((_resolve, reject) => {
        signal?.addEventListener('abort', () => reject(new Error('socket closed')), { once: true });
      });
    });
    const payments = withRetry<Sms>(withBreaker(provider, breaker), {
      attempts: 3,
      backoff: noWait,
    });
    const giveUps: unknown[] = [];
    payments.events.on('giveUp', (e) => giveUps.push(e));
    const caller = new AbortController();
    const call = payments.send('1', { signal: caller.signal }).catch((e: unknown) => e);
    await flush();
    caller.abort();
    expect(await call).toBeInstanceOf(AbortedError);
    await flush();
    expect(provider.calls).toBe(1);
    expect(breaker.state).toBe('closed'); // threshold 1: one counted failure would open it
    expect(giveUps).toEqual([]);
  });

  it('stacks: the outer decorator exposes its own events; the inner keeps its own', async () => {
    const a = new FakeSms('a').failing();
    const b = new FakeSms('b');
    const inner = failover<Sms>([a, b]);
    const outer = withRetry(inner, { attempts: 2, backoff: noWait });
    // Typed as retry's events, not failover's (a type error otherwise: failover has no `retry`).
    outer.events.on('retry', ({ delayMs }) => expect(delayMs).toBe(0));
    const asSms: Sms = outer;
    expect(typeof asSms.send).toBe('function');
    const switches: number[] = [];
    inner.events.on('switch', ({ to }) => switches.push(to));
    expect(await outer.send('1')).toBe('b:ok');
    expect(switches).toEqual([1]);
    expect(outer.events).not.toBe(inner.events);
    expect(outer.control.attempts).toBe(2);
  });
});
