// Background work under one leader election: the election (its name from the role,
// `shop-<role>-jobs`, or given in full) on the shop's locker (Redis in the cluster), and
// the scheduled sweeps under it. Orders: the expiry sweep; payments: the refund retries
// (the outbox relay follows the same election); the one-process shop: both sweeps under
// `shop-jobs` (compose/jobs.ts); the cluster's gateway: none (its ranking follows the
// election). Each sweep is safe to run twice anyway.
import type { Clock } from 'girder/core';
import { type Election, leaderElection, type ScheduledJob, scheduledJob } from 'girder/jobs';
import type { Locker } from 'girder/lock';
import { type Logger, logError } from 'girder/logger';

export interface RoleJobs {
  /** The election; its leader runs the sweeps (and whatever else follows it). */
  readonly election: Election;
  /** The sweeps this process schedules, in the order given. */
  readonly jobs: readonly ScheduledJob[];
  /** Stop the sweeps (waiting for running ones) and step down. */
  stop(): Promise<void>;
}

/** One scheduled sweep. */
export interface Sweep {
  name: string;
  everyMs: number;
  run: () => Promise<unknown>;
}

export interface RoleJobsOptions {
  /** Whose work it is (logs; the election's name unless `election` is given). */
  role: string;
  /** The election's full name. Default `roleElectionName(role)`. */
  election?: string;
  locker: Locker;
  leaderTtlMs: number;
  clock: Clock;
  logger: Logger;
  sweeps: readonly Sweep[];
}

/** The election name of `role`'s background work. */
export const roleElectionName = (role: string) => `shop-${role}-jobs`;

export async function startRoleJobs(options: RoleJobsOptions): Promise<RoleJobs> {
  const { clock, logger, role } = options;
  const election = leaderElection({
    locker: options.locker,
    name: options.election ?? roleElectionName(role),
    ttlMs: options.leaderTtlMs,
    pollMs: Math.max(100, Math.min(1_000, Math.floor(options.leaderTtlMs / 4))),
    clock,
  });
  election.events.on('elected', ({ term }) =>
    logger.info(`leading the ${role} background work`, { term }),
  );
  election.events.on('demoted', ({ reason }) =>
    logger.info(`no longer leading the ${role} background work`, { reason }),
  );
  const jobs = options.sweeps.map(({ name, everyMs, run }) => {
    // A sweep is cheap to repeat: the next slot retries, no need for a burst now.
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
