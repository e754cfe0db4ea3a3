// A service role's own background work across its instances: one leader election per
// role (`shop-<role>-jobs` on the shared locker: Redis in the cluster), and the role's
// scheduled sweeps under it. Orders: the expiry sweep; payments: the refund retries (and
// the outbox relay follows the same election). Each sweep is safe to run twice anyway.
import type { Clock } from 'girder/core';
import { type Election, leaderElection, type ScheduledJob, scheduledJob } from 'girder/jobs';
import type { Locker } from 'girder/lock';
import { type Logger, logError } from 'girder/logger';

export interface RoleJobs {
  /** The role's election; its leader runs the sweeps (and the payments outbox relay). */
  readonly election: Election;
  /** The sweeps, by name. */
  readonly jobs: readonly ScheduledJob[];
  /** Stop the sweeps (waiting for running ones) and step down. */
  stop(): Promise<void>;
}

export interface RoleJobsOptions {
  role: string;
  locker: Locker;
  leaderTtlMs: number;
  clock: Clock;
  logger: Logger;
  sweeps: ReadonlyArray<{ name: string; everyMs: number; run: () => Promise<unknown> }>;
}

/** The election name of `role`'s background work. */
export const roleElectionName = (role: string) => `shop-${role}-jobs`;

export async function startRoleJobs(options: RoleJobsOptions): Promise<RoleJobs> {
  const { clock, logger, role } = options;
  const election = leaderElection({
    locker: options.locker,
    name: roleElectionName(role),
    ttlMs: options.leaderTtlMs,
    pollMs: Math.max(100, Math.min(1_000, Math.floor(options.leaderTtlMs / 4))),
    clock,
  });
  election.events.on('elected', ({ term }) =>
    logger.info(`leading the ${role} background work`, { term }),
  );
  const jobs = options.sweeps.map(({ name, everyMs, run }) => {
    const j = scheduledJob({ name, everyMs, election, clock, retry: false, run });
    j.events.on('finished', ({ result, error }) => {
      if (result !== 'ok') logError(logger, error, `background job ${name} ${result}`);
    });
    return j;
  });
  const stop = async () => {
    await Promise.all(jobs.map((j) => j.close()));
    await election.close();
  };
  try {
    for (const j of jobs) await j.start();
  } catch (err) {
    await stop();
    throw err;
  }
  return { election, jobs, stop };
}
