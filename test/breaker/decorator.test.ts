import { describe, expect, it, vi } from 'vitest';
import {
  BrokenCircuitError,
  circuitBreaker,
  consecutiveFailures,
  withBreaker,
} from '../../src/breaker/index.js';
import { InvalidArgumentError, InvalidOptionsError, manualClock } from '../../src/core/index.js';

interface Sms {
  send(phone: string, text: string, opts?: { signal?: AbortSignal }): Promise<string>;
  status(id: string): Promise<string>;
  readonly provider: string;
}

const makeSms = () => {
  let up = true;
  const sms: Sms & { setUp(v: boolean): void } = {
    provider: 'aliyun',
    send: vi.fn(async (phone: string) => {
      if (!up) throw new Error('provider down');
      return `sent:${phone}`;
    }),
    status: vi.fn(async (id: string) => `delivered:${id}`),
    setUp: (v) => {
      up = v;
    },
  };
  return sms;
};

const breakerFor = () =>
  circuitBreaker({
    name: 'sms',
    policy: consecutiveFailures({ threshold: 2 }),
    openMs: 1_000,
    clock: manualClock(),
  });

describe('withBreaker', () => {
  it('keeps the interface and passes calls and properties through while closed', async () => {
    const sms = makeSms();
    const guarded: Sms = withBreaker(sms, breakerFor());
    expect(await guarded.send('138', 'hi')).toBe('sent:138');
    expect(await guarded.status('m1')).toBe('delivered:m1');
    expect(guarded.provider).toBe('aliyun');
  });

  it('without fallback: refused calls throw BrokenCircuitError and never touch the target', async () => {
    const sms = makeSms();
    const breaker = breakerFor();
    const guarded = withBreaker(sms, breaker);
    sms.setUp(false);
    await expect(guarded.send('1', 'x')).rejects.toThrow('provider down');
    await expect(guarded.send('1', 'x')).rejects.toThrow('provider down');
    expect(breaker.state).toBe('open');
    const err = await guarded.status('m1').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BrokenCircuitError);
    expect(err).toMatchObject({ code: 'CIRCUIT_OPEN', retryAfterMs: 1_000 });
    expect(sms.status).not.toHaveBeenCalled(); // one breaker guards every method
    expect(sms.send).toHaveBeenCalledTimes(2);
  });

  it('with fallback: refused calls return the degraded value; failures still throw', async () => {
    const sms = makeSms();
    const fallback = vi.fn((call: { method: string; args: readonly unknown[] }, error: unknown) => {
      expect(error).toBeInstanceOf(BrokenCircuitError);
      return `queued:${call.method}:${call.args[0]}`;
    });
    const guarded = withBreaker(sms, breakerFor(), { fallback });
    sms.setUp(false);
    await expect(guarded.send('1', 'x')).rejects.toThrow('provider down');
    await expect(guarded.send('2', 'x')).rejects.toThrow('provider down');
    expect(fallback).not.toHaveBeenCalled();
    expect(await guarded.send('3', 'x')).toBe('queued:send:3');
    expect(sms.send).toHaveBeenCalledTimes(2);
  });

  it('fallbackOnFailure also covers failures, but never a caller cancellation', async () => {
    const sms = makeSms();
    const guarded = withBreaker(sms, breakerFor(), {
      fallback: () => 'degraded',
      fallbackOnFailure: true,
    });
    sms.setUp(false);
    expect(await guarded.send('1', 'x')).toBe('degraded');
    const controller = new AbortController();
    const cancelled: Sms = withBreaker(
      {
        ...makeSms(),
        send: async () => {
          controller.abort();
          throw new Error('aborted');
        },
      },
      breakerFor(),
      { fallback: () => 'degraded', fallbackOnFailure: true },
    );
    await expect(cancelled.send('1', 'x', { signal: controller.signal })).rejects.toThrow(
      'aborted',
    );
  });

  it("finds the caller's signal so a cancellation does not count", async () => {
    const breaker = breakerFor();
    const controller = new AbortController();
    const target = {
      async send(_phone: string, opts: { signal: AbortSignal }) {
        controller.abort();
        throw new Error(`aborted: ${opts.signal.aborted}`);
      },
      async raw(signal: AbortSignal) {
        controller.abort();
        throw new Error(`aborted: ${signal.aborted}`);
      },
      // options first: the signal is found wherever it sits, as in girder/failover
      async first(opts: { signal: AbortSignal }, _phone: string) {
        controller.abort();
        throw new Error(`aborted: ${opts.signal.aborted}`);
      },
    };
    const guarded = withBreaker(target, breaker);
    for (let i = 0; i < 3; i++) {
      await guarded.send('1', { signal: controller.signal }).catch(() => {});
      await guarded.raw(controller.signal).catch(() => {});
      await guarded.first({ signal: controller.signal }, '1').catch(() => {});
    }
    expect(breaker.state).toBe('closed');
    // a custom finder gets the arguments and the method name
    const seen: unknown[] = [];
    const custom = withBreaker(target, breaker, {
      signalOf: (args, method) => {
        seen.push([args, method]);
        return controller.signal;
      },
    });
    await custom.send('1', { signal: new AbortController().signal }).catch(() => {});
    expect(breaker.state).toBe('closed');
    expect(seen).toEqual([[['1', { signal: expect.any(AbortSignal) }], 'send']]);
  });

  it('guards only the listed methods', async () => {
    const sms = makeSms();
    const breaker = breakerFor();
    breaker.isolate();
    const guarded = withBreaker(sms, breaker, { methods: ['send'] });
    await expect(guarded.send('1', 'x')).rejects.toBeInstanceOf(BrokenCircuitError);
    expect(await guarded.status('m')).toBe('delivered:m');
  });

  it('a BrokenCircuitError from an inner breaker is a failure of the outer one, not its refusal', async () => {
    const inner = breakerFor();
    inner.isolate();
    const innerGuarded = withBreaker(makeSms(), inner);
    const fallback = vi.fn(() => 'outer fallback');
    const outer = withBreaker(innerGuarded, breakerFor(), { fallback });
    await expect(outer.send('1', 'x')).rejects.toBeInstanceOf(BrokenCircuitError);
    expect(fallback).not.toHaveBeenCalled();
  });

  it('validates its arguments', () => {
    expect(() => withBreaker(makeSms(), {} as never)).toThrow(InvalidArgumentError);
    try {
      withBreaker(makeSms(), breakerFor(), {
        fallback: 'x' as never,
        fallbackOnFailure: 1 as never,
      });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(InvalidOptionsError);
      expect((err as InvalidOptionsError).issues.map((i) => i.path)).toEqual([
        'fallback',
        'fallbackOnFailure',
      ]);
    }
    expect(() => withBreaker(makeSms(), breakerFor(), { methods: ['nope' as never] })).toThrow(
      InvalidArgumentError,
    );
  });
});
