import { describe, expect, it } from 'vitest';
import {
  AbortedError,
  checkSignal,
  isCallerCancellation,
  manualClock,
  sleep,
  TimeoutError,
  throwIfAborted,
  withTimeout,
} from '../../src/core/index.js';

describe('sleep', () => {
  it('resolves after the given time on the clock', async () => {
    const clock = manualClock();
    let done = false;
    const p = sleep(100, { clock }).then(() => {
      done = true;
    });
    await clock.advanceAsync(99);
    expect(done).toBe(false);
    await clock.advanceAsync(1);
    await p;
    expect(done).toBe(true);
  });

  it('rejects with AbortedError keeping the reason, and clears its timer', async () => {
    const clock = manualClock();
    const controller = new AbortController();
    const p = sleep(100, { clock, signal: controller.signal });
    controller.abort('user left');
    const err = await p.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AbortedError);
    expect((err as AbortedError).cause).toBe('user left');
    expect(clock.pendingTimers).toBe(0);
  });

  it('rejects at once when already aborted', async () => {
    await expect(sleep(10, { signal: AbortSignal.abort() })).rejects.toMatchObject({
      code: 'ABORTED',
    });
  });

  it('rejects bad durations with INVALID_ARGUMENT', async () => {
    await expect(sleep(-1)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', argument: 'ms' });
    await expect(sleep(Number.NaN)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});

describe('throwIfAborted', () => {
  it('throws only when aborted', () => {
    expect(() => throwIfAborted(undefined)).not.toThrow();
    expect(() => throwIfAborted(new AbortController().signal)).not.toThrow();
    expect(() => throwIfAborted(AbortSignal.abort())).toThrow(AbortedError);
  });
});

describe('withTimeout', () => {
  it('returns the value when fn finishes in time', async () => {
    const clock = manualClock();
    await expect(withTimeout(async () => 42, { timeoutMs: 10, clock })).resolves.toBe(42);
    expect(clock.pendingTimers).toBe(0);
  });

  it('rejects with TimeoutError at the deadline and aborts the inner signal', async () => {
    const clock = manualClock();
    let inner: AbortSignal | undefined;
    const p = withTimeout(
      (signal) => {
        inner = signal;
        return new Promise<never>(() => {}); // ignores its signal on purpose
      },
      { timeoutMs: 50, clock },
    );
    const settled = p.catch((e: unknown) => e);
    await clock.advanceAsync(50);
    const err = await settled;
    expect(err).toBeInstanceOf(TimeoutError);
    expect(inner?.aborted).toBe(true);
    expect(isCallerCancellation(err, inner)).toBe(false);
  });

  it("rejects with AbortedError on the caller's abort, not TimeoutError", async () => {
    const clock = manualClock();
    const controller = new AbortController();
    const p = withTimeout(() => new Promise<never>(() => {}), {
      timeoutMs: 50,
      clock,
      signal: controller.signal,
    });
    controller.abort();
    const err = await p.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AbortedError);
    expect(isCallerCancellation(err, controller.signal)).toBe(true);
    expect(clock.pendingTimers).toBe(0);
  });

  it('passes through errors and synchronous throws from fn', async () => {
    const boom = new Error('boom');
    await expect(withTimeout(() => Promise.reject(boom), { timeoutMs: 5 })).rejects.toBe(boom);
    await expect(
      withTimeout(
        () => {
          throw boom;
        },
        { timeoutMs: 5 },
      ),
    ).rejects.toBe(boom);
  });

  it('rejects bad input and pre-aborted signals', async () => {
    await expect(withTimeout(async () => 1, { timeoutMs: -5 })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    await expect(
      withTimeout(async () => 1, { timeoutMs: 5, signal: AbortSignal.abort() }),
    ).rejects.toMatchObject({ code: 'ABORTED' });
  });
});

describe('isCallerCancellation', () => {
  it("treats any error thrown under the caller's aborted signal as cancellation", () => {
    const aborted = AbortSignal.abort();
    expect(isCallerCancellation(new DOMException('aborted', 'AbortError'), aborted)).toBe(true);
    expect(isCallerCancellation(new Error('downstream'), new AbortController().signal)).toBe(false);
    expect(isCallerCancellation(new Error('downstream'))).toBe(false);
    expect(isCallerCancellation(new TimeoutError(5), aborted)).toBe(false);
  });
});

describe('signal arguments that are not AbortSignals (regression: uncaught TypeError from a timer)', () => {
  const wrong: [string, unknown][] = [
    ['an AbortController', new AbortController()],
    ['a boolean', true],
    ['a plain object', { aborted: false }],
    ['null', null],
  ];
  for (const [label, signal] of wrong) {
    it(`sleep refuses ${label} with INVALID_ARGUMENT`, async () => {
      await expect(sleep(10, { signal } as never)).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
        argument: 'options.signal',
      });
    });
    it(`withTimeout refuses ${label} with INVALID_ARGUMENT`, async () => {
      await expect(
        withTimeout(async () => 1, { timeoutMs: 10, signal } as never),
      ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', argument: 'options.signal' });
    });
  }

  it('checkSignal passes undefined and real signals through', () => {
    const signal = new AbortController().signal;
    expect(checkSignal(undefined)).toBeUndefined();
    expect(checkSignal(signal)).toBe(signal);
    expect(() => checkSignal(new AbortController(), 'opts.signal')).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT', argument: 'opts.signal' }),
    );
  });

  it('withTimeout refuses a missing function or options object', async () => {
    await expect(withTimeout(null as never, { timeoutMs: 1 })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      argument: 'fn',
    });
    await expect(withTimeout(async () => 1, null as never)).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      argument: 'options',
    });
  });
});

describe('durations beyond 2^31-1 ms (regression: Node fires them after 1 ms)', () => {
  it('sleep(2 ** 31) on the system clock is still pending after 50 ms', async () => {
    const controller = new AbortController();
    let settled = false;
    const p = sleep(2 ** 31, { signal: controller.signal }).then(
      () => {
        settled = true;
      },
      () => undefined,
    );
    await new Promise((r) => setTimeout(r, 50));
    expect(settled).toBe(false);
    controller.abort();
    await p;
    expect(settled).toBe(false);
  });

  it('withTimeout with a 30-day deadline does not time out at once', async () => {
    const result = await withTimeout(
      (signal) =>
        new Promise<string>((r) => setTimeout(() => r(signal.aborted ? 'aborted' : 'ok'), 30)),
      { timeoutMs: 30 * 24 * 3_600_000 },
    );
    expect(result).toBe('ok');
  });
});
