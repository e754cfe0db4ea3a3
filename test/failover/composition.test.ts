import { describe, expect, it } from 'vitest';
import {
  BrokenCircuitError,
  circuitBreaker,
  consecutiveFailures,
  withBreaker,
} from '../../src/breaker/index.js';
import { AbortedError, manualClock } from '../../src/core/index.js';
import {
  AllTargetsFailedError,
  failover,
  healthFailover,
  retry,
} from '../../src/failover/index.js';
import { FakeSms, flush, type Sms } from './fakes.js';

/** `withBreaker(failover([a, b]), breaker)`: failover absorbs one provider, the breaker all. */
function stack(strategy: 'ordered' | 'round-robin' = 'ordered') {
  const clock = manualClock();
  const a = new FakeSms('a');
  const b = new FakeSms('b');
  const breaker = circuitBreaker({
    name: 'sms',
    policy: consecutiveFailures({ threshold: 3 }),
    openMs: 10_000,
    halfOpen: { probes: 1, ramp: [] },
    clock,
  });
  const states: string[] = [];
  breaker.events.on('stateChange', ({ to }) => states.push(to));
  const sms: Sms = withBreaker(failover<Sms>([a, b], { strategy, methods: ['send'] }), breaker, {
    methods: ['send'],
  });
  return { clock, a, b, breaker, states, sms };
}

describe('withBreaker(failover([a, b]), breaker)', () => {
  it('one provider down: failover hides it and the breaker never sees a failure', async () => {
    for (const strategy of ['ordered', 'round-robin'] as const) {
      const { a, b, breaker, states, sms } = stack(strategy);
      a.failing();
      const failures: unknown[] = [];
      breaker.events.on('failure', (e) => failures.push(e));
      for (let i = 0; i < 20; i++) await expect(sms.send('1')).resolves.toBe('b:ok');
      expect(failures).toEqual([]);
      expect(breaker.state).toBe('closed');
      expect(states).toEqual([]);
      // ordered: a is tried first every time; round-robin: only the calls starting on a.
      expect(a.calls).toBe(strategy === 'ordered' ? 20 : 10);
      expect(b.calls).toBe(20);
    }
  });

  it('every provider down: each call is one breaker failure; it opens and then spares both providers', async () => {
    const { a, b, breaker, states, sms } = stack();
    a.failing();
    b.failing();
    for (let i = 0; i < 3; i++) {
      const err = await sms.send('1').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AllTargetsFailedError);
      expect((err as AllTargetsFailedError).errors.map((e) => e.index)).toEqual([0, 1]);
    }
    expect(breaker.state).toBe('open');
    expect(states).toEqual(['open']);
    const touched = a.calls + b.calls;
    expect(touched).toBe(6);

    for (let i = 0; i < 10; i++) {
      const err = await sms.send('1').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BrokenCircuitError);
      expect((err as BrokenCircuitError).code).toBe('CIRCUIT_OPEN');
    }
    expect(a.calls + b.calls).toBe(touched); // refused without touching any provider
  });

  it('recovers: after openMs one probe goes through failover; one healthy provider closes the breaker', async () => {
    const { clock, a, b, breaker, states, sms } = stack();
    a.failing();
    b.failing();
    for (let i = 0; i < 3; i++) await sms.send('1').catch(() => {});
    expect(breaker.state).toBe('open');

    b.ok(); // b is back, a still down
    clock.advance(10_000);
    await expect(sms.send('1')).resolves.toBe('b:ok'); // the probe: a fails, failover to b
    expect(breaker.state).toBe('closed');
    expect(states).toEqual(['open', 'half-open', 'closed']);
    await expect(sms.send('1')).resolves.toBe('b:ok');
  });

  it('a partial outage does not count as failures between total ones (a success resets the streak)', async () => {
    const { a, b, breaker, sms } = stack();
    a.failing();
    b.failing();
    await sms.send('1').catch(() => {});
    await sms.send('1').catch(() => {});
    b.ok();
    await sms.send('1'); // served by b: the dependency as a whole answered
    b.failing();
    await sms.send('1').catch(() => {});
    await sms.send('1').catch(() => {});
    expect(breaker.state).toBe('closed');
  });

  it("the caller's abort passes through both layers as AbortedError and counts for neither", async () => {
    const { a, b, breaker, sms } = stack();
    const ignored: unknown[] = [];
    const failures: unknown[] = [];
    breaker.events.on('ignored', (e) => ignored.push(e));
    breaker.events.on('failure', (e) => failures.push(e));
    a.behaviour = (_p, signal) =>
      new Promise((_, reject) =>
        signal?.addEventListener('abort', () => reject(new Error('socket closed'))),
      );
    for (let i = 0; i < 5; i++) {
      const controller = new AbortController();
      const call = sms.send('1', { signal: controller.signal });
      await flush();
      controller.abort();
      await expect(call).rejects.toBeInstanceOf(AbortedError);
    }
    expect(b.calls).toBe(0); // failover stopped at once, never tried b
    expect(failures).toEqual([]);
    expect(ignored).toHaveLength(5);
    expect(breaker.state).toBe('closed');
  });

  it('keeps the failover events reachable on the inner object, and stacks further (retry outside)', async () => {
    const clock = manualClock();
    const a = new FakeSms('a').failing();
    const b = new FakeSms('b');
    const inner = healthFailover<Sms>([a, b], { clock, methods: ['send'], minSamples: 2 });
    const downs: number[] = [];
    inner.events.on('down', ({ index }) => downs.push(index));
    const breaker = circuitBreaker({ policy: consecutiveFailures({ threshold: 2 }), clock });
    const sms: Sms = withBreaker(inner, breaker, { methods: ['send'] });
    for (let i = 0; i < 5; i++) {
      await expect(retry(() => sms.send('1'), { attempts: 2, clock })).resolves.toBe('b:ok');
    }
    expect(downs).toEqual([0]);
    expect(a.calls).toBe(2); // after two failures a is out of rotation; b serves the rest
    expect(breaker.state).toBe('closed');
  });
});
