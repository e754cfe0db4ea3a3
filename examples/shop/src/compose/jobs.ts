// Background jobs: expire overdue orders and retry failed refunds. Each is a girder/jobs
// `scheduledJob` under one `leaderElection` (memoryLock embedded, redisLock with
// REDIS_URL), so with several shop instances each sweep runs on one of them only: the
// current leader. A leader that stops (or dies) is replaced within the lock's TTL plus
// one poll. Both sweeps are safe to run twice anyway (every transition is one conditional
// UPDATE, refunds carry an idempotency key): the election saves work, not correctness.
import type { Clock } from 'girder/core';
import { type Election, leaderElection, type ScheduledJob, scheduledJob } from 'girder/jobs';
import type { Locker } from 'girder/lock';
import { type Logger, logError } from 'girder/logger';

export interface JobResults {
  expired: number;
  refunded: number;
}

export interface Jobs {
  /** The election every shop job runs under. */
  readonly election: Election;
  /** The order-expiry sweep. */
  readonly expireOrders: ScheduledJob;
  /** The refund-retry sweep. */
  readonly retryRefunds: ScheduledJob;
  /** Run every job once now, on this instance, leader or not. */
  runOnce(): Promise<JobResults>;
  /** Stop the schedules (waiting for running sweeps) and step down. */
  stop(): Promise<void>;
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
   * gateway, where the orders and payments instances schedule their own (role-jobs.ts)
   * and this election only leads the gateway's work (the popular ranking).
   */
  sweeps?: boolean;
}

export async function startJobs(options: JobsOptions): Promise<Jobs> {
  const { clock, logger } = options;
  const election = leaderElection({
    locker: options.locker,
    name: 'shop-jobs',
    ttlMs: options.leaderTtlMs,
    pollMs: Math.max(100, Math.min(1_000, Math.floor(options.leaderTtlMs / 4))),
    clock,
  });
  election.events.on('elected', ({ term }) => logger.info('leading the background jobs', { term }));
  election.events.on('demoted', ({ reason }) =>
    logger.info('no longer leading the background jobs', { reason }),
  );
  const job = (name: string, everyMs: number, run: () => Promise<number>) => {
    const j = scheduledJob({
      name,
      everyMs,
      election,
      clock,
      // A sweep is cheap to repeat: the next slot retries, no need for a burst now.
      retry: false,
      run,
    });
    j.events.on('finished', ({ result, error }) => {
      if (result !== 'ok') logError(logger, error, `background job ${name} ${result}`);
    });
    return j;
  };
  const expireOrders = job('expire-orders', options.expiryIntervalMs, options.expireDue);
  const retryRefunds = job('retry-refunds', options.refundRetryIntervalMs, () =>
    options.retryPendingRefunds(),
  );
  try {
    if (options.sweeps ?? true) {
      await expireOrders.start();
      await retryRefunds.start();
    }
  } catch (err) {
    await Promise.all([expireOrders.close(), retryRefunds.close()]);
    await election.close();
    throw err;
  }
  return {
    election,
    expireOrders,
    retryRefunds,
    runOnce: async () => ({
      expired: await options.expireDue(),
      refunded: await options.retryPendingRefunds(),
    }),
    async stop() {
      await Promise.all([expireOrders.close(), retryRefunds.close()]);
      await election.close();
    },
  };
}
