import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AbortedError, InvalidArgumentError, InvalidOptionsError } from '../../src/core/index.js';
import {
  AllTargetsFailedError,
  defaultSignalOf,
  type FailoverEvents,
  failover,
} from '../../src/failover/index.js';
import { deferred, FakeSms, flush, optionPaths, type Sms } from './fakes.js';

const trio = () => [new FakeSms('a'), new FakeSms('b'), new FakeSms('c')] as const;

describe('failover: ordered', () => {
  it('sends every call to the first target while it works', async () => {
    const [a, b, c] = trio();
    const sms: Sms = failover([a, b, c]);
    for (let i = 0; i < 5; i++) await expect(sms.send('1')).resolves.toBe('a:ok');
    expect([a.calls, b.calls, c.calls]).toEqual([5, 0, 0]);
  });

  it('tries the next target when one fails, and keeps the interface (properties, other methods)', async () => {
    const [a, b, c] = trio();
    a.failing();
    const sms = failover<Sms>([a, b, c]);
    await expect(sms.send('1')).resolves.toBe('b:ok');
    await expect(sms.balance()).resolves.toBe(100);
    expect(sms.name).toBe('a');
    expect([a.calls, b.calls, c.calls]).toEqual([1, 1, 0]);
  });

  it('passes the arguments unchanged to each target', async () => {
    const seen: string[] = [];
    const a = new FakeSms('a', (phone) => {
      seen.push(`a:${phone}`);
      throw new Error('x');
    });
    const b = new FakeSms('b', (phone) => {
      seen.push(`b:${phone}`);
      return 'ok';
    });
    await failover<Sms>([a, b]).send('+86138');
    expect(seen).toEqual(['a:+86138', 'b:+86138']);
  });

  it('treats a synchronous throw of a target like a rejection', async () => {
    const a = {
      send: (): Promise<string> => {
        throw new Error('sync');
      },
    };
    const b = { send: async () => 'b' };
    await expect(failover([a, b]).send()).resolves.toBe('b');
  });
});

describe('failover: round-robin', () => {
  it('starts each call at the next target, spreading load evenly', async () => {
    const targets = [new FakeSms('a'), new FakeSms('b'), new FakeSms('c'), new FakeSms('d')];
    const sms = failover<Sms>(targets, { strategy: 'round-robin' });
    const answers: string[] = [];
    for (let i = 0; i < 400; i++) answers.push(await sms.send('1'));
    expect(targets.map((t) => t.calls)).toEqual([100, 100, 100, 100]);
    expect(answers.slice(0, 5)).toEqual(['a:ok', 'b:ok', 'c:ok', 'd:ok', 'a:ok']);
  });

  it('with one target down, the healthy ones share its load and only its own turns pay', async () => {
    const [a, b, c] = trio();
    b.failing();
    const sms = failover<Sms>([a, b, c], { strategy: 'round-robin' });
    const answers: Record<string, number> = {};
    for (let i = 0; i < 300; i++) {
      const who = await sms.send('1');
      answers[who] = (answers[who] ?? 0) + 1;
    }
    // Calls starting on b fail over to c: a serves 100, c serves 200, b is tried 100 times.
    expect(answers).toEqual({ 'a:ok': 100, 'c:ok': 200 });
    expect([a.calls, b.calls, c.calls]).toEqual([100, 100, 200]);
  });

  it('spreads concurrent calls too (the start index is taken before awaiting)', async () => {
    const [a, b, c] = trio();
    const sms = failover<Sms>([a, b, c], { strategy: 'round-robin' });
    await Promise.all(Array.from({ length: 30 }, () => sms.send('1')));
    expect([a.calls, b.calls, c.calls]).toEqual([10, 10, 10]);
  });

  it('property: over any number of calls, no target gets more than one call more than another', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 0, max: 60 }),
        async (n, calls) => {
          const targets = Array.from({ length: n }, (_, i) => new FakeSms(`t${i}`));
          const sms = failover<Sms>(targets, { strategy: 'round-robin' });
          for (let i = 0; i < calls; i++) await sms.send('1');
          const counts = targets.map((t) => t.calls);
          expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
          expect(counts.reduce((x, y) => x + y, 0)).toBe(calls);
        },
      ),
    );
  });
});

describe('failover: all targets failing', () => {
  it('rejects with AllTargetsFailedError listing each target error in attempt order', async () => {
    const [a, b, c] = trio();
    a.failing('a broke');
    b.failing('b broke');
    c.failing('c broke');
    const sms = failover<Sms>([a, b, c], { strategy: 'round-robin' });
    await sms.send('1').catch(() => {}); // moves the cursor: next call starts at b
    const err = (await sms.send('1').catch((e: unknown) => e)) as AllTargetsFailedError;
    expect(err).toBeInstanceOf(AllTargetsFailedError);
    expect(err.code).toBe('ALL_TARGETS_FAILED');
    expect(err.method).toBe('send');
    expect(err.targets).toBe(3);
    expect(err.errors.map((e) => [e.index, (e.error as Error).message])).toEqual([
      [1, 'b broke'],
      [2, 'c broke'],
      [0, 'a broke'],
    ]);
    expect(err.cause).toBeInstanceOf(AggregateError);
    expect((err.cause as AggregateError).errors.map((e: Error) => e.message)).toEqual([
      'b broke',
      'c broke',
      'a broke',
    ]);
    expect(err.message).toMatch(/send: all 3 targets failed/);
  });

  it('maxAttempts caps the targets one call tries', async () => {
    const targets = Array.from({ length: 5 }, (_, i) => new FakeSms(`t${i}`).failing());
    const sms = failover<Sms>(targets, { maxAttempts: 2 });
    const err = (await sms.send('1').catch((e: unknown) => e)) as AllTargetsFailedError;
    expect(err.errors.map((e) => e.index)).toEqual([0, 1]);
    expect(err.message).toMatch(/2 of 5 targets failed/);
    expect(targets.map((t) => t.calls)).toEqual([1, 1, 0, 0, 0]);
  });

  it('property (ordered): the answer comes from the first working target, and only the ones before it are tried', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }), async (working) => {
        const targets = working.map((ok, i) =>
          ok ? new FakeSms(`t${i}`) : new FakeSms(`t${i}`).failing(),
        );
        const sms = failover<Sms>(targets);
        const first = working.indexOf(true);
        const outcome = await sms.send('1').then(
          (v) => ({ ok: true as const, v }),
          (e: unknown) => ({ ok: false as const, e }),
        );
        if (first === -1) {
          expect(outcome.ok).toBe(false);
          const err = (outcome as { e: AllTargetsFailedError }).e;
          expect(err.errors.map((x) => x.index)).toEqual(working.map((_, i) => i));
        } else {
          expect(outcome).toEqual({ ok: true, v: `t${first}:ok` });
        }
        const tried = first === -1 ? working.length : first + 1;
        expect(targets.map((t) => t.calls)).toEqual(working.map((_, i) => (i < tried ? 1 : 0)));
      }),
    );
  });
});

describe('failover: shouldFailover', () => {
  it('returns an error at once when shouldFailover says no', async () => {
    class InvalidPhone extends Error {}
    const a = new FakeSms('a', () => {
      throw new InvalidPhone('bad phone');
    });
    const b = new FakeSms('b');
    const seen: unknown[] = [];
    const sms = failover<Sms>([a, b], {
      shouldFailover: (err, attempt) => {
        seen.push(attempt);
        return !(err instanceof InvalidPhone);
      },
    });
    await expect(sms.send('x')).rejects.toBeInstanceOf(InvalidPhone);
    expect(b.calls).toBe(0);
    expect(seen).toEqual([{ index: 0, method: 'send', attempt: 1 }]);
  });
});

describe('failover: cancellation', () => {
  it('an already-aborted signal tries no target', async () => {
    const [a, b] = trio();
    const sms = failover<Sms>([a, b]);
    const controller = new AbortController();
    controller.abort();
    await expect(sms.send('1', { signal: controller.signal })).rejects.toBeInstanceOf(AbortedError);
    expect(a.calls + b.calls).toBe(0);
  });

  it('the caller aborting during a call stops at once: the other targets are never tried', async () => {
    const [, b, c] = trio();
    const controller = new AbortController();
    const a = new FakeSms('a', (_phone, signal) => {
      return new Promise((_, reject) =>
        signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError'))),
      );
    });
    const sms = failover<Sms>([a, b, c]);
    const call = sms.send('1', { signal: controller.signal });
    await flush();
    controller.abort();
    const err = await call.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AbortedError);
    expect((err as AbortedError).code).toBe('ABORTED');
    expect([a.calls, b.calls, c.calls]).toEqual([1, 0, 0]);
  });

  it('a caller deadline (AbortSignal.timeout) is a cancellation, not a failover reason', async () => {
    const a = new FakeSms('a', (_phone, signal) => {
      return new Promise((_, reject) =>
        signal?.addEventListener('abort', () => reject(signal.reason)),
      );
    });
    const b = new FakeSms('b');
    const sms = failover<Sms>([a, b]);
    await expect(sms.send('1', { signal: AbortSignal.timeout(5) })).rejects.toBeInstanceOf(
      AbortedError,
    );
    expect(b.calls).toBe(0);
  });

  it('a target error that is not the caller aborting still fails over even with a signal present', async () => {
    const [a, b] = trio();
    a.failing();
    const controller = new AbortController();
    await expect(failover<Sms>([a, b]).send('1', { signal: controller.signal })).resolves.toBe(
      'b:ok',
    );
  });

  it('stops before the next target when the caller aborts while the previous one was failing', async () => {
    const controller = new AbortController();
    const gate = deferred<string>();
    const a = new FakeSms('a', () => gate.promise);
    const b = new FakeSms('b');
    const call = failover<Sms>([a, b]).send('1', { signal: controller.signal });
    await flush();
    controller.abort();
    gate.reject(new Error('a broke at the same moment'));
    await expect(call).rejects.toBeInstanceOf(AbortedError);
    expect(b.calls).toBe(0);
  });

  it('signalOf finds the signal where the interface keeps it', async () => {
    const controller = new AbortController();
    controller.abort();
    const target = { call: async (_req: { ctx: { signal: AbortSignal } }) => 'ok' };
    const wrapped = failover([target, target], {
      signalOf: (args) => (args[0] as { ctx: { signal: AbortSignal } }).ctx.signal,
    });
    await expect(wrapped.call({ ctx: { signal: controller.signal } })).rejects.toBeInstanceOf(
      AbortedError,
    );
  });

  it('defaultSignalOf looks at direct signals and { signal } objects', () => {
    const s = new AbortController().signal;
    expect(defaultSignalOf([s], 'm')).toBe(s);
    expect(defaultSignalOf(['x', { signal: s }], 'm')).toBe(s);
    expect(defaultSignalOf(['x', null, { signal: 'no' }], 'm')).toBeUndefined();
  });
});

describe('failover: events', () => {
  it("emits switch for each move and giveUp when all failed, on the returned object's events", async () => {
    const [a, b, c] = trio();
    a.failing('a');
    const sms = failover<Sms>([a, b, c]);
    const switches: FailoverEvents['switch'][] = [];
    sms.events.on('switch', (e) => switches.push(e));
    await sms.send('1');
    expect(switches).toHaveLength(1);
    expect(switches[0]).toMatchObject({ from: 0, to: 1, reason: 'error', method: 'send' });
    expect((switches[0]!.error as Error).message).toBe('a');

    const giveUps: FailoverEvents['giveUp'][] = [];
    const down = failover<Sms>([new FakeSms('x').failing(), new FakeSms('y').failing()]);
    down.events.on('giveUp', (e) => giveUps.push(e));
    await down.send('1').catch(() => {});
    expect(giveUps).toHaveLength(1);
    expect(giveUps[0]!.errors.map((e) => e.index)).toEqual([0, 1]);
  });

  it('keeps events and control out of enumeration, and names itself', () => {
    const [a, b] = trio();
    const sms = failover<Sms>([a, b], { name: 'sms' });
    expect(Object.keys(sms)).not.toContain('events');
    expect(Object.keys(sms)).not.toContain('control');
    expect(sms.control).toEqual({ name: 'sms', targets: 2 });
  });
});

describe('failover: bad input', () => {
  it('rejects bad options naming each field', () => {
    const [a] = trio();
    expect(
      optionPaths(() =>
        failover([a], {
          // @ts-expect-error unknown strategy
          strategy: 'random',
          maxAttempts: 0,
          // @ts-expect-error not a function
          shouldFailover: true,
          // caller-built emitters are gone: events are always on .events
          ...{ events: {} },
        }),
      ),
    ).toEqual(['strategy', 'shouldFailover', 'maxAttempts', '']);
    // @ts-expect-error a typo is an error, not silently ignored
    expect(optionPaths(() => failover([a], { stratgey: 'ordered' }))).toEqual(['']);
    expect(() => failover([a], { maxAttempts: 1.5 })).toThrow(InvalidOptionsError);
  });

  it('rejects an empty target list and targets lacking a method', () => {
    expect(() => failover([])).toThrow(InvalidArgumentError);
    const err = (() => {
      try {
        failover<{ send(): Promise<void> }>([{ send: async () => {} }, {} as never]);
      } catch (e) {
        return e as InvalidArgumentError;
      }
    })();
    expect(err?.code).toBe('INVALID_ARGUMENT');
    expect(err?.argument).toBe('targets[1]');
    expect(err?.message).toMatch(/has no method "send"/);
  });

  it('decorates only the listed methods when methods is given', async () => {
    const [a, b] = trio();
    a.failing();
    const sms = failover<Sms>([a, b], { methods: ['send'] });
    await expect(sms.send('1')).resolves.toBe('b:ok');
  });
});
