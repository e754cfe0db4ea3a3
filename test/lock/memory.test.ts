// Memory locker on a manual clock: the HeldLock machinery (deadline, watchdog, extend,
// release, events) without sleeping.
import { describe, expect, it } from 'vitest';
import { AbortedError, manualClock } from '../../src/core/index.js';
import {
  LockerClosedError,
  LockLostError,
  LockNotHeldError,
  LockTimeoutError,
  memoryLock,
} from '../../src/lock/index.js';

const setup = (options: Parameters<typeof memoryLock>[0] = {}) => {
  const clock = manualClock(1_000);
  const locker = memoryLock({ clock, ttlMs: 1_000, ...options });
  const events: string[] = [];
  for (const name of [
    'acquired',
    'contended',
    'timeout',
    'extended',
    'extendFailed',
    'lost',
    'released',
  ] as const) {
    locker.events.on(name, (e) => events.push(`${name}${'reason' in e ? `:${e.reason}` : ''}`));
  }
  return { clock, locker, events };
};

describe('memoryLock on a manual clock', () => {
  it('signal reads the clock first: a timer running late (SIGSTOP) cannot hide the deadline', async () => {
    // A clock whose timers never fire: time passes, the locker's timer does not run.
    let now = 1_000;
    const frozenTimers = { now: () => now, setTimeout: () => ({}), clearTimeout: () => {} };
    const locker = memoryLock({ clock: frozenTimers, ttlMs: 1_000, watchdog: false });
    const lost: string[] = [];
    locker.events.on('lost', (e) => lost.push(e.reason));
    const lock = await locker.acquire('k');
    expect(lock.signal.aborted).toBe(false);
    const early = (await locker.acquire('k2')).signal; // read before the deadline
    now += 1_000;
    expect(lock.signal.aborted).toBe(true);
    expect(lock.signal.reason).toBeInstanceOf(LockLostError);
    expect(lost).toEqual(['deadline']);
    expect(early.aborted).toBe(false); // a signal held from before learns it from the timer
    await locker.close();
  });

  it('the watchdog keeps a lock past its TTL', async () => {
    const { clock, locker, events } = setup();
    const lock = await locker.acquire('k');
    await clock.advanceAsync(5_000);
    expect(lock.held).toBe(true);
    expect(lock.signal.aborted).toBe(false);
    expect(events.filter((e) => e === 'extended').length).toBeGreaterThanOrEqual(10);
    expect(await locker.tryAcquire('k')).toBeUndefined();
    expect(await lock.release()).toBe(true);
    expect(await lock.release()).toBe(true); // idempotent
    expect(events.at(-1)).toBe('released');
  });

  it('without the watchdog the signal aborts at the local deadline, before the TTL', async () => {
    const { clock, locker, events } = setup({ watchdog: false });
    const lock = await locker.acquire('k');
    // ttl 1000 − drift (10 + 2) − margin 10 = 978 ms
    await clock.advanceAsync(977);
    expect(lock.held).toBe(true);
    await clock.advanceAsync(1);
    expect(lock.signal.aborted).toBe(true);
    const reason = lock.signal.reason as LockLostError;
    expect(reason).toBeInstanceOf(LockLostError);
    expect(reason.reason).toBe('deadline');
    expect(events).toContain('lost:deadline');
    await expect(lock.extend()).rejects.toBeInstanceOf(LockLostError);
    // the key is still taken on the "server" until the TTL
    expect(await locker.tryAcquire('k')).toBeUndefined();
    await clock.advanceAsync(22);
    const next = await locker.tryAcquire('k');
    expect(next?.fence).toBe(lock.fence + 1);
    expect(await lock.release()).toBe(false);
    expect(next?.held).toBe(true);
  });

  it('a waiter is woken by the release, not by polling', async () => {
    const { clock, locker, events } = setup();
    const first = await locker.acquire('k');
    const waiting = locker.acquire('k', { waitMs: 10_000 });
    await clock.advanceAsync(100);
    await first.release();
    const second = await waiting;
    expect(second.fence).toBe(2);
    expect(events.filter((e) => e === 'contended')).toHaveLength(1);
  });

  it('times out with LOCK_TIMEOUT after waitMs', async () => {
    const { clock, locker, events } = setup();
    await locker.acquire('k');
    const waiting = locker.acquire('k', { waitMs: 300 });
    const result = expect(waiting).rejects.toMatchObject({ code: 'LOCK_TIMEOUT', waitedMs: 300 });
    await clock.advanceAsync(300);
    await result;
    expect(events).toContain('timeout');
    await expect(locker.acquire('k')).rejects.toBeInstanceOf(LockTimeoutError);
  });

  it('an abort stops the wait at once and leaves nothing behind', async () => {
    const { clock, locker } = setup();
    const first = await locker.acquire('k');
    const controller = new AbortController();
    const waiting = locker.acquire('k', { waitMs: 10_000, signal: controller.signal });
    await clock.advanceAsync(10);
    controller.abort();
    await expect(waiting).rejects.toBeInstanceOf(AbortedError);
    await first.release();
    const next = await locker.tryAcquire('k');
    expect(next?.fence).toBe(2);
  });

  it('extend renews with a new TTL; after release it throws LOCK_NOT_HELD', async () => {
    const { clock, locker } = setup({ watchdog: false });
    const lock = await locker.acquire('k');
    await clock.advanceAsync(900);
    await lock.extend(2_000);
    await clock.advanceAsync(1_900);
    expect(lock.held).toBe(true);
    await lock.release();
    await expect(lock.extend()).rejects.toBeInstanceOf(LockNotHeldError);
    expect(lock.held).toBe(false);
  });

  it('using: work gets a signal that aborts on loss; release happens in finally', async () => {
    const { clock, locker } = setup({ watchdog: false });
    let seen: AbortSignal | undefined;
    const run = locker.using('k', async (signal) => {
      seen = signal;
      await new Promise((resolve) => signal.addEventListener('abort', resolve));
      throw signal.reason;
    });
    await clock.advanceAsync(1_000);
    await expect(run).rejects.toMatchObject({ code: 'LOCK_LOST', reason: 'deadline' });
    expect(seen?.aborted).toBe(true);
    await expect(
      locker.using('k', () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await locker.tryAcquire('k')).toBeDefined();
  });

  it('close aborts held locks (closed) and refuses new acquisitions', async () => {
    const { locker, events } = setup();
    const lock = await locker.acquire('k');
    await locker.close();
    expect((lock.signal.reason as LockLostError).reason).toBe('closed');
    expect(events).toContain('lost:closed');
    await expect(locker.acquire('k')).rejects.toBeInstanceOf(LockerClosedError);
  });
});
