// Without the optional peer croner, a cron schedule fails with CRON_UNAVAILABLE and
// interval schedules keep working.
import { describe, expect, it, vi } from 'vitest';
import { manualClock } from '../../src/core/index.js';
import { CronUnavailableError, leaderElection, scheduledJob } from '../../src/jobs/index.js';
import { memoryLock } from '../../src/lock/index.js';

vi.mock('croner', () => {
  throw new Error("Cannot find package 'croner'");
});

describe('cron without croner installed', () => {
  it('start() rejects with CronUnavailableError; everyMs still works', async () => {
    const clock = manualClock(0);
    const locker = memoryLock({ clock });
    const election = leaderElection({ locker, name: 'no-cron', clock });
    const cron = scheduledJob({ name: 'c', cron: '* * * * *', run() {}, election, clock });
    const error = await cron.start().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CronUnavailableError);
    expect(error).toMatchObject({ code: 'CRON_UNAVAILABLE' });
    const every = scheduledJob({ name: 'e', everyMs: 1_000, run() {}, election, clock });
    await expect(every.start()).resolves.toBeUndefined();
    await every.close();
    await cron.close();
    await election.close();
    await locker.close();
  });
});
