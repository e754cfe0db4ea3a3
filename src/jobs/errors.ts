import { GirderError } from '../core/index.js';

/**
 * Why a running job's signal aborted before the job finished.
 * - `preempted`: another worker claimed the job (our renewal found the row changed);
 * - `deadline`: the lease ran out locally before a renewal could be confirmed;
 * - `demoted`: the election this job depends on no longer has us as leader;
 * - `closed`: the scheduler was closed.
 */
export type JobLossReason = 'preempted' | 'deadline' | 'demoted' | 'closed';

/**
 * The reason of a job's `signal` when this worker may no longer run it (`JOB_LOST`):
 * stop work and do not commit side effects that assume exclusivity.
 *
 * @example
 * ```ts
 * import { JobLostError } from 'girder/jobs';
 *
 * await scheduler.register('nightly-report', {
 *   everyMs: 86_400_000,
 *   async run(signal) {
 *     signal.addEventListener('abort', () => {
 *       if (signal.reason instanceof JobLostError) console.warn(signal.reason.reason);
 *     });
 *   },
 * });
 * ```
 */
export class JobLostError extends GirderError {
  /** The job's name. */
  readonly job: string;
  /** Why it was lost. */
  readonly reason: JobLossReason;

  constructor(job: string, reason: JobLossReason, options?: { cause?: unknown }) {
    super('JOB_LOST', `job "${job}" lost: ${reason}`, options);
    this.job = job;
    this.reason = reason;
  }
}

/**
 * A `cron` schedule was asked for but the optional peer `croner` is not installed
 * (`CRON_UNAVAILABLE`). Install it (`npm install croner`) or use `everyMs`.
 *
 * @example
 * ```ts
 * import { CronUnavailableError } from 'girder/jobs';
 *
 * try {
 *   await scheduler.register('report', { cron: '0 3 * * *', run });
 * } catch (err) {
 *   if (err instanceof CronUnavailableError) console.error('npm install croner');
 * }
 * ```
 */
export class CronUnavailableError extends GirderError {
  constructor(cause?: unknown) {
    super(
      'CRON_UNAVAILABLE',
      'cron schedules need the optional peer dependency "croner": npm install croner',
      { cause },
    );
  }
}
