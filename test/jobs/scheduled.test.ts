import { afterEach, describe, expect, it } from 'vitest';
import { constant, manualClock } from '../../src/core/index.js';
import {
  type Election,
  leaderElection,
  type ScheduledJob,
  type ScheduledJobOptions,
  scheduledJob,
} from '../../src/jobs/index.js';
import { type Locker, memoryLock } from '../../src/lock/index.js';
import { aborted, deferred } from './helpers.js';

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function cluster(size: number, clock = manualClock(0), locker?: Locker) {
  const lock = locker ?? memoryLock({ clock });
  const elections = Array.from({ length: size }, () =>
    leaderElection({ locker: lock, name: 'jobs', ttlMs: 3_000, pollMs: 100, clock }),
  );
  cleanup.push(async () => {
    await Promise.all(elections.map((e) => e.close()));
    await lock.close();
  });
  await clock.advanceAsync(0);
  return { clock, elections };
}

async function job(options: ScheduledJobOptions): Promise<ScheduledJob> {
  const j = scheduledJob(options);
  cleanup.push(() => j.close());
  await j.start();
  return j;
}

describe('scheduledJob', () => {
  it('runs each slot on the leader only, and reports the next run', async () => {
    const { clock, elections } = await cluster(3);
    const ran: number[] = [];
    const jobs = await Promise.all(
      elections.map((election, i) =>
        job({
          name: 'tick',
          everyMs: 1_000,
          election,
          clock,
          run: () => {
            ran.push(i);
          },
        }),
      ),
    );
    expect(jobs.map((j) => j.nextRunAt)).toEqual([1_000, 1_000, 1_000]);
    await clock.advanceAsync(5_000);
    const leader = elections.findIndex((e) => e.isLeader);
    expect(ran).toEqual([leader, leader, leader, leader, leader]);
    expect(jobs[leader]?.lastResult).toBe('ok');
    expect(jobs[leader]?.lastDurationMs).toBe(0);
    expect(jobs[(leader + 1) % 3]?.lastResult).toBeUndefined();
    expect(jobs[0]?.nextRunAt).toBe(6_000);
  });

  it('moves to the new leader when the old one steps down', async () => {
    const { clock, elections } = await cluster(2);
    const ran: number[] = [];
    for (const [i, election] of elections.entries()) {
      await job({ name: 'tick', everyMs: 1_000, election, clock, run: () => void ran.push(i) });
    }
    const leader = elections.findIndex((e) => e.isLeader);
    await clock.advanceAsync(1_000);
    await (elections[leader] as Election).close();
    await clock.advanceAsync(1_000);
    expect(ran).toEqual([leader, 1 - leader]);
  });

  it('skips a slot while the previous run is still going', async () => {
    const { clock, elections } = await cluster(1);
    const release = deferred();
    let runs = 0;
    const skipped: string[] = [];
    const j = await job({
      name: 'slow',
      everyMs: 1_000,
      election: elections[0] as Election,
      clock,
      run: async () => {
        runs += 1;
        await release.promise;
      },
    });
    j.events.on('skipped', ({ reason }) => skipped.push(reason));
    await clock.advanceAsync(1_000);
    expect(j.running).toBe(true);
    await clock.advanceAsync(2_000);
    expect(skipped).toEqual(['overlap', 'overlap']);
    expect(j.lastResult).toBe('skipped');
    release.resolve();
    await clock.advanceAsync(0);
    expect(j.lastResult).toBe('ok');
    expect(j.lastDurationMs).toBe(2_000);
    await clock.advanceAsync(1_000);
    expect(runs).toBe(2);
  });

  it('retries a failed run with backoff, then reports failed', async () => {
    const { clock, elections } = await cluster(1);
    const attempts: number[] = [];
    const j = await job({
      name: 'flaky',
      everyMs: 60_000,
      election: elections[0] as Election,
      clock,
      retry: { maxAttempts: 3, backoff: constant({ delayMs: 500 }) },
      run: () => {
        attempts.push(clock.now());
        throw new Error('down');
      },
    });
    const finished = new Promise((resolve) => j.events.once('finished', resolve));
    await clock.advanceAsync(61_000);
    expect(attempts).toEqual([60_000, 60_500, 61_000]);
    expect(await finished).toMatchObject({ result: 'failed', attempts: 3, durationMs: 1_000 });
    expect(j.lastResult).toBe('failed');
  });

  it('stops retrying once an attempt succeeds', async () => {
    const { clock, elections } = await cluster(1);
    let calls = 0;
    const j = await job({
      name: 'recovering',
      everyMs: 10_000,
      election: elections[0] as Election,
      clock,
      retry: { backoff: constant({ delayMs: 100 }) },
      run: () => {
        calls += 1;
        if (calls === 1) throw new Error('once');
      },
    });
    await clock.advanceAsync(10_100);
    expect(calls).toBe(2);
    expect(j.lastResult).toBe('ok');
  });

  it('aborts an attempt after timeoutMs and reports timeout', async () => {
    const { clock, elections } = await cluster(1);
    let reason: unknown;
    const j = await job({
      name: 'hangs',
      everyMs: 10_000,
      election: elections[0] as Election,
      clock,
      timeoutMs: 300,
      retry: false,
      run: async (signal) => {
        reason = await aborted(signal);
        throw reason;
      },
    });
    await clock.advanceAsync(10_300);
    expect(reason).toMatchObject({ code: 'TIMEOUT' });
    expect(j.lastResult).toBe('timeout');
    expect(j.lastDurationMs).toBe(300);
  });

  it('aborts the run when its instance stops leading, without retrying', async () => {
    const clock = manualClock(0);
    const { elections } = await cluster(1, clock, memoryLock({ clock, watchdog: false }));
    let runs = 0;
    let reason: unknown;
    const j = await job({
      name: 'long',
      everyMs: 1_000,
      election: elections[0] as Election,
      clock,
      run: async (signal) => {
        runs += 1;
        reason = await aborted(signal);
        throw reason;
      },
    });
    // Leadership began at 0 without a watchdog: the lock lapses at 3 000.
    await clock.advanceAsync(3_000);
    expect(reason).toMatchObject({ code: 'JOB_LOST', reason: 'demoted' });
    expect(runs).toBe(1);
    expect(j.lastResult).toBe('failed');
  });

  it('follows a cron pattern (croner)', async () => {
    const start = Date.UTC(2026, 0, 1, 10, 7, 30);
    const clock = manualClock(start);
    const { elections } = await cluster(1, clock);
    const ran: number[] = [];
    const j = await job({
      name: 'quarter',
      cron: '*/15 * * * *',
      timezone: 'UTC',
      election: elections[0] as Election,
      clock,
      run: () => void ran.push(clock.now()),
    });
    expect(j.nextRunAt).toBe(Date.UTC(2026, 0, 1, 10, 15));
    await clock.advanceAsync(30 * 60_000);
    expect(ran).toEqual([Date.UTC(2026, 0, 1, 10, 15), Date.UTC(2026, 0, 1, 10, 30)]);
    expect(j.nextRunAt).toBe(Date.UTC(2026, 0, 1, 10, 45));
  });

  it('refuses bad options and bad cron patterns', async () => {
    const { clock, elections } = await cluster(1);
    const election = elections[0] as Election;
    const run = () => {};
    for (const bad of [
      { name: 'x', run, election },
      { name: 'x', run, election, everyMs: 1, cron: '* * * * *' },
      { name: 'x', run, election: {} as Election, everyMs: 1 },
      { name: 'x', run, election, everyMs: 1, retry: { maxAttempts: 0 } },
      { name: '', run, election, everyMs: 1 },
    ]) {
      expect(() => scheduledJob(bad)).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }));
    }
    const badCron = scheduledJob({ name: 'x', run, election, cron: 'whenever', clock });
    await expect(badCron.start()).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await badCron.close();
    await expect(badCron.start()).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});
