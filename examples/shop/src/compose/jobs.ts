// The shop's own background work (compose/role-jobs.ts under the election `shop-jobs`):
// memoryLock embedded, redisLock with REDIS_URL, so with several shop instances each
// sweep runs on one of them only: the current leader. A leader that stops (or dies) is
// replaced within the lock's TTL plus one poll. Both sweeps are safe to run twice anyway
// (every transition is one conditional UPDATE, refunds carry an idempotency key): the
// election saves work, not correctness.
//
// One process: the two sweeps, expire overdue orders and retry failed refunds. The
// cluster's gateway (`sweeps: false`): no sweep at all (the orders and payments
// instances schedule theirs); its election only leads the gateway's own work (the
// popular ranking), so nothing here stands for work that runs elsewhere.
import type { Clock } from 'girder/core';
import type { Locker } from 'girder/lock';
import type { Logger } from 'girder/logger';
import { type RoleJobs, startRoleJobs } from './role-jobs.js';

/** The election every background job of a shop (or of the cluster's gateway) runs under. */
export const SHOP_JOBS_ELECTION = 'shop-jobs';

export interface JobResults {
  expired: number;
  refunded: number;
}

export interface Jobs extends RoleJobs {
  /**
   * Run both sweeps once now, on this instance, leader or not (with `sweeps: false`,
   * through the services that own them).
   */
  runOnce(): Promise<JobResults>;
}

export interface JobsOptions {
  clock: Clock;
  logger: Logger;
  locker: Locker;
  /** Leadership lock TTL. */
  leaderTtlMs: number;
  expiryIntervalMs: number;
  refundRetryIntervalMs: number;
  expireDue: () => Promise<number>;
  retryPendingRefunds: () => Promise<number>;
  /**
   * Schedule the two sweeps here. Default true (one process); false in the cluster's
   * gateway, where the orders and payments instances schedule their own (role-jobs.ts):
   * then no sweep is created here at all.
   */
  sweeps?: boolean;
}

export async function startJobs(options: JobsOptions): Promise<Jobs> {
  const sweeps = options.sweeps ?? true;
  const jobs = await startRoleJobs({
    role: sweeps ? 'shop' : 'gateway',
    election: SHOP_JOBS_ELECTION,
    locker: options.locker,
    leaderTtlMs: options.leaderTtlMs,
    clock: options.clock,
    logger: options.logger,
    sweeps: sweeps
      ? [
          { name: 'expire-orders', everyMs: options.expiryIntervalMs, run: options.expireDue },
          {
            name: 'retry-refunds',
            everyMs: options.refundRetryIntervalMs,
            run: options.retryPendingRefunds,
          },
        ]
      : [],
  });
  return {
    ...jobs,
    runOnce: async () => ({
      expired: await options.expireDue(),
      refunded: await options.retryPendingRefunds(),
    }),
  };
}
