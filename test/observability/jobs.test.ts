// girder/jobs in girder/observability: election gauge and counters, scheduled job runs
// by result with durations, SQL-scheduled runs by job, and a span per job run.
import { SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import type { Kysely } from 'kysely';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { constant, manualClock } from '../../src/core/index.js';
import {
  createJobTable,
  leaderElection,
  scheduledJob,
  sqlScheduler,
} from '../../src/jobs/index.js';
import { memoryLock } from '../../src/lock/index.js';
import { metrics, tracing } from '../../src/observability/index.js';
import { postgresDb, stopPostgres, type TestDb } from '../jobs/sql-db.js';
import { nonZero, series } from './helpers.js';

const exporter = new InMemorySpanExporter();
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const tracer = provider.getTracer('girder-jobs-test');
afterAll(() => provider.shutdown());

async function pair() {
  const clock = manualClock(0);
  const locker = memoryLock({ clock });
  const a = leaderElection({ locker, name: 'ops', ttlMs: 3_000, pollMs: 100, clock });
  await clock.advanceAsync(0);
  const b = leaderElection({ locker, name: 'ops', ttlMs: 3_000, pollMs: 100, clock });
  return { clock, locker, a, b };
}

describe('metrics: elections', () => {
  it('sets the leader gauge and counts elections and demotions by reason', async () => {
    const { clock, locker, a, b } = await pair();
    const registry = new Registry();
    const m = metrics({ registry });
    m.watch(a, { name: 'ops-a' });
    m.watch(b, { name: 'ops-b' });
    expect(await series(registry, 'girder_election_leader')).toEqual({
      'name=ops-a': 1,
      'name=ops-b': 0,
    });
    await clock.advanceAsync(5_000);
    await a.close();
    await clock.advanceAsync(100);
    expect(await series(registry, 'girder_election_leader')).toEqual({
      'name=ops-a': 0,
      'name=ops-b': 1,
    });
    expect(await nonZero(registry, 'girder_election_events_total')).toEqual({
      'kind=demoted,name=ops-a': 1,
      'kind=elected,name=ops-b': 1,
    });
    expect(await nonZero(registry, 'girder_election_demotions_total')).toEqual({
      'name=ops-a,reason=closed': 1,
    });
    expect(await nonZero(registry, 'girder_election_leadership_seconds')).toEqual({
      'name=ops-a': 1,
    });
    await b.close();
    await locker.close();
  });
});

describe('metrics and tracing: scheduled jobs', () => {
  it('counts runs by result, retries and durations; one span per run', async () => {
    const { clock, locker, a, b } = await pair();
    const registry = new Registry();
    let calls = 0;
    const job = scheduledJob({
      name: 'expire',
      everyMs: 1_000,
      election: a,
      clock,
      retry: { maxAttempts: 2, backoff: constant({ delayMs: 10 }) },
      run: () => {
        calls += 1;
        if (calls <= 2) throw new Error('down');
      },
    });
    metrics({ registry }).watch(job);
    const t = tracing({ tracer, redis: false });
    t.watch(job);
    await job.start();
    await clock.advanceAsync(2_000);
    expect(await nonZero(registry, 'girder_job_runs_total')).toEqual({
      'name=expire,result=failed': 1,
      'name=expire,result=ok': 1,
    });
    expect(await nonZero(registry, 'girder_job_retries_total')).toEqual({ 'name=expire': 1 });
    expect(await nonZero(registry, 'girder_job_run_duration_seconds')).toEqual({
      'name=expire,result=failed': 1,
      'name=expire,result=ok': 1,
    });
    const spans = exporter.getFinishedSpans().filter((s) => s.name === 'girder.job.run');
    expect(spans.map((s) => s.attributes['girder.job.result'])).toEqual(['failed', 'ok']);
    expect(spans[0]?.status.code).toBe(SpanStatusCode.ERROR);
    expect(spans[0]?.attributes['girder.job.attempts']).toBe(2);
    t.close();
    await job.close();
    await a.close();
    await b.close();
    await locker.close();
  });
});

describe('metrics: SQL scheduler', () => {
  let env: TestDb;
  let db: Kysely<unknown>;
  beforeAll(async () => {
    env = await postgresDb();
    db = env.db;
    await createJobTable(db);
  });
  afterAll(async () => {
    await env.close();
    await stopPostgres();
  });

  it('counts claims and runs by job and result', async () => {
    {
      const clock = manualClock(1_000_000);
      const s = sqlScheduler(db, { name: 'workers', clock, retry: constant({ delayMs: 1 }) });
      const registry = new Registry();
      metrics({ registry }).watch(s);
      await s.register('ok-job', { everyMs: 60_000, runImmediately: true, run: () => {} });
      await s.register('bad-job', {
        everyMs: 60_000,
        runImmediately: true,
        run: () => {
          throw new Error('x');
        },
      });
      const finished = new Promise<void>((resolve) => {
        let n = 0;
        s.events.on('finished', () => {
          if (++n === 2) resolve();
        });
      });
      expect(await s.poll()).toBe(2);
      await finished;
      expect(await nonZero(registry, 'girder_sql_job_runs_total')).toEqual({
        'job=bad-job,name=workers,result=failed': 1,
        'job=ok-job,name=workers,result=ok': 1,
      });
      expect(await nonZero(registry, 'girder_sql_job_events_total')).toEqual({
        'job=bad-job,kind=claimed,name=workers': 1,
        'job=ok-job,kind=claimed,name=workers': 1,
      });
      await s.close();
    }
  });
});
