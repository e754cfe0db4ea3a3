// Metrics of girder/jobs: elections (a leader gauge, elected/demoted counts), scheduled
// jobs and SQL-scheduled jobs (runs by result, run durations). Blocks are recognised by
// shape, like every other block.
import type { EventSource } from '../core/index.js';
import type {
  Election,
  ElectionEvents,
  ScheduledJob,
  ScheduledJobEvents,
  SqlScheduler,
  SqlSchedulerEvents,
} from '../jobs/index.js';
import type { Labels } from './families.js';
import { cellsBy, type Scope, subscribe } from './scope.js';
import { type Bag, isFn } from './shape.js';

/** @internal The girder/jobs kinds of block. */
export type JobsBlockKind = 'election' | 'scheduledJob' | 'sqlScheduler';

/** @internal Which girder/jobs block `block` is, if any. */
export function jobsKindOf(block: unknown): JobsBlockKind | undefined {
  if (typeof block !== 'object' || block === null) return undefined;
  const b = block as Bag;
  const events = b.events as Bag | undefined;
  if (typeof events !== 'object' || events === null || !isFn(events.on)) return undefined;
  if (isFn(b.run) && typeof b.isLeader === 'boolean' && 'term' in b) return 'election';
  if (isFn(b.start) && 'lastResult' in b && 'nextRunAt' in b) return 'scheduledJob';
  if (isFn(b.register) && isFn(b.poll) && typeof b.workerId === 'string') return 'sqlScheduler';
  return undefined;
}

/** @internal Map an election's events to `<prefix>election_*`. */
export function watchElection(scope: Scope, election: Election): () => void {
  const leader = scope.gauge(
    'election_leader',
    'Whether this instance leads the election: 1 while leading, else 0.',
  );
  leader.set(scope.base, election.isLeader ? 1 : 0);
  const events = scope.counter(
    'election_events_total',
    'Election events, by kind (elected, demoted, error).',
    ['kind'],
  );
  const elected = events.series({ kind: 'elected' });
  const demoted = events.series({ kind: 'demoted' });
  const errors = events.series({ kind: 'error' });
  const demotions = cellsBy(
    scope.counter(
      'election_demotions_total',
      'Times this instance stopped leading, by reason (lost, handover, closed).',
      ['reason'],
    ),
  );
  const led = scope.histogram(
    'election_leadership_seconds',
    'How long each leadership of this instance lasted, seconds.',
  );
  const ledCell = led.cell(scope.base);
  return subscribe(election.events as EventSource<ElectionEvents>, {
    elected: () => {
      elected.value++;
      leader.set(scope.base, 1);
    },
    demoted: (e: ElectionEvents['demoted']) => {
      demoted.value++;
      demotions(e.reason, () => ({ reason: e.reason })).value++;
      led.observe(ledCell, e.ledMs / 1000);
      leader.set(scope.base, 0);
    },
    error: () => {
      errors.value++;
    },
  });
}

/** @internal Map a scheduled job's events to `<prefix>job_*`. */
export function watchScheduledJob(scope: Scope, job: ScheduledJob): () => void {
  const runs = cellsBy(
    scope.counter(
      'job_runs_total',
      'Scheduled job runs on this instance, by result (ok, failed, timeout, skipped).',
      ['result'],
    ),
  );
  const retries = scope.counter('job_retries_total', 'Retried attempts of scheduled job runs.');
  const retryCell = retries.series();
  const duration = scope.histogram(
    'job_run_duration_seconds',
    'Duration of scheduled job runs (retries included), seconds, by result.',
    ['result'],
  );
  const cells = new Map<string, ReturnType<typeof duration.cell>>();
  const durationCell = (result: string) => {
    let cell = cells.get(result);
    if (cell === undefined) {
      cell = duration.cell(scope.labels({ result }));
      cells.set(result, cell);
    }
    return cell;
  };
  return subscribe(job.events as EventSource<ScheduledJobEvents>, {
    finished: (e: ScheduledJobEvents['finished']) => {
      runs(e.result, () => ({ result: e.result })).value++;
      duration.observe(durationCell(e.result), e.durationMs / 1000);
    },
    skipped: (e: ScheduledJobEvents['skipped']) => {
      if (e.reason === 'overlap') runs('skipped', () => ({ result: 'skipped' })).value++;
    },
    retrying: () => {
      retryCell.value++;
    },
  });
}

/** @internal Map a SQL scheduler's events to `<prefix>sql_job_*`, labelled by job. */
export function watchSqlScheduler(scope: Scope, scheduler: SqlScheduler): () => void {
  const runs = cellsBy(
    scope.counter(
      'sql_job_runs_total',
      'Runs of SQL-scheduled jobs on this worker, by job and result (ok, failed, timeout, lost, aborted).',
      ['job', 'result'],
    ),
  );
  const events = cellsBy(
    scope.counter(
      'sql_job_events_total',
      'SQL scheduler events, by job and kind (claimed, preempted, renewed, lost, error).',
      ['job', 'kind'],
    ),
  );
  const duration = scope.histogram(
    'sql_job_run_duration_seconds',
    'Duration of SQL-scheduled job runs, seconds, by job and result.',
    ['job', 'result'],
  );
  const cells = new Map<string, ReturnType<typeof duration.cell>>();
  const durationCell = (labels: Labels) => {
    const key = `${labels.job}\u0000${labels.result}`;
    let cell = cells.get(key);
    if (cell === undefined) {
      cell = duration.cell(scope.labels(labels));
      cells.set(key, cell);
    }
    return cell;
  };
  const count = (job: string, kind: string) =>
    events(`${job}\u0000${kind}`, () => ({ job, kind })).value++;
  return subscribe(scheduler.events as EventSource<SqlSchedulerEvents>, {
    claimed: (e: SqlSchedulerEvents['claimed']) => {
      count(e.job, 'claimed');
      if (e.preempted) count(e.job, 'preempted');
    },
    renewed: (e: SqlSchedulerEvents['renewed']) => count(e.job, 'renewed'),
    lost: (e: SqlSchedulerEvents['lost']) => count(e.job, 'lost'),
    error: (e: SqlSchedulerEvents['error']) => count(e.job ?? '', 'error'),
    finished: (e: SqlSchedulerEvents['finished']) => {
      const labels = { job: e.job, result: e.result };
      runs(`${e.job}\u0000${e.result}`, () => labels).value++;
      duration.observe(durationCell(labels), e.durationMs / 1000);
    },
  });
}
