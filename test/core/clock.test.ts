import { describe, expect, it } from 'vitest';
import { MAX_TIMER_MS, manualClock, systemClock } from '../../src/core/index.js';

describe('manualClock', () => {
  it('starts where told and only moves when advanced', () => {
    const clock = manualClock(1_000);
    expect(clock.now()).toBe(1_000);
    clock.advance(250);
    expect(clock.now()).toBe(1_250);
  });

  it('fires timers in due order, ties in creation order, at their due time', () => {
    const clock = manualClock();
    const fired: string[] = [];
    clock.setTimeout(() => fired.push(`b@${clock.now()}`), 20);
    clock.setTimeout(() => fired.push(`a@${clock.now()}`), 10);
    clock.setTimeout(() => fired.push(`c@${clock.now()}`), 20);
    clock.advance(15);
    expect(fired).toEqual(['a@10']);
    clock.advance(5);
    expect(fired).toEqual(['a@10', 'b@20', 'c@20']);
    expect(clock.pendingTimers).toBe(0);
  });

  it('fires timers scheduled by timers within the same advance', () => {
    const clock = manualClock();
    const fired: number[] = [];
    clock.setTimeout(() => {
      fired.push(clock.now());
      clock.setTimeout(() => fired.push(clock.now()), 5);
    }, 5);
    clock.advance(10);
    expect(fired).toEqual([5, 10]);
  });

  it('clearTimeout cancels and ignores unknown handles', () => {
    const clock = manualClock();
    let fired = false;
    const handle = clock.setTimeout(() => {
      fired = true;
    }, 1);
    clock.clearTimeout(handle);
    clock.clearTimeout({});
    clock.advance(5);
    expect(fired).toBe(false);
  });

  it('set() jumps forward and never backwards', () => {
    const clock = manualClock(100);
    clock.set(50);
    expect(clock.now()).toBe(100);
    clock.set(500);
    expect(clock.now()).toBe(500);
  });

  it('advanceAsync lets promise chains woken by a timer schedule their next step', async () => {
    const clock = manualClock();
    const steps: number[] = [];
    const wait = (ms: number) => new Promise<void>((r) => clock.setTimeout(r, ms));
    const loop = (async () => {
      for (let i = 0; i < 3; i++) {
        await wait(10);
        steps.push(clock.now());
      }
    })();
    await clock.advanceAsync(30);
    await loop;
    expect(steps).toEqual([10, 20, 30]);
  });
});

describe('systemClock', () => {
  it('reads Date.now and runs real timers', async () => {
    const before = Date.now();
    expect(systemClock.now()).toBeGreaterThanOrEqual(before);
    await new Promise<void>((resolve) => systemClock.setTimeout(resolve, 1));
    const handle = systemClock.setTimeout(() => expect.unreachable(), 1);
    systemClock.clearTimeout(handle);
    await new Promise((r) => setTimeout(r, 5));
  });
});

describe('systemClock long timers', () => {
  it('chains delays longer than 2^31-1 ms instead of firing at once, and cancels the chain', async () => {
    let fired = false;
    const handle = systemClock.setTimeout(() => {
      fired = true;
    }, MAX_TIMER_MS + 1);
    await new Promise((r) => setTimeout(r, 30));
    expect(fired).toBe(false);
    systemClock.clearTimeout(handle);
  });
});
