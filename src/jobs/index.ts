/**
 * Leader election, cluster-once scheduled jobs, load-aware leadership and a SQL job table.
 *
 * @module jobs
 */

export type {
  DemotionReason,
  Election,
  ElectionEvents,
  RunOptions,
} from './election-types.js';
export { CronUnavailableError, type JobLossReason, JobLostError } from './errors.js';
export { type LeaderElectionOptions, leaderElection } from './leader.js';
export {
  type LoadAwareElection,
  type LoadAwareElectionEvents,
  type LoadAwareElectionOptions,
  loadAwareElection,
} from './load-aware.js';
export type { ScheduleSpec } from './schedule.js';
export {
  type JobResult,
  type JobRetryOptions,
  type ScheduledJob,
  type ScheduledJobEvents,
  type ScheduledJobOptions,
  scheduledJob,
} from './scheduled.js';
export { sqlScheduler } from './sql-scheduler.js';
export { type CreateJobTableOptions, createJobTable, DEFAULT_JOB_TABLE } from './sql-table.js';
export type {
  SqlJobOptions,
  SqlJobResult,
  SqlScheduler,
  SqlSchedulerEvents,
  SqlSchedulerOptions,
} from './sql-types.js';
