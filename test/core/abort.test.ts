import { describe, expect, it } from 'vitest';
import {
  AbortedError,
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
