// Background jobs: expire overdue orders and retry failed refunds, every sweep interval.
import type { Clock } from 'girder/core';
import { type Logger, logError } from 'girder/logger';

export interface JobResults {
  expired: number;
  refunded: number;
}

export interface Jobs {
  /** Run every job once now. */
  runOnce(): Promise<JobResults>;
  /** Stop scheduling and wait for a running sweep. */
  stop(): Promise<void>;
}

export function startJobs(options: {
  clock: Clock;
  logger: Logger;
  intervalMs: number;
  expireDue: () => Promise<number>;
  retryPendingRefunds: () => Promise<number>;
}): Jobs {
  const { clock, logger } = options;
  let stopped = false;
  let timer: ReturnType<Clock['setTimeout']> | undefined;
  let running: Promise<unknown> | undefined;
  const runOnce = async (): Promise<JobResults> => ({
    expired: await options.expireDue(),
    refunded: await options.retryPendingRefunds(),
  });
  const schedule = () => {
    timer = clock.setTimeout(() => {
      running = runOnce()
        .catch((err) => logError(logger, err, 'background job failed'))
        .finally(() => {
          running = undefined;
          if (!stopped) schedule();
        });
    }, options.intervalMs);
  };
  schedule();
  return {
    runOnce,
    async stop() {
      stopped = true;
      if (timer !== undefined) clock.clearTimeout(timer);
      await running;
    },
  };
}
