// sqlScheduler against a real PostgreSQL with real time: several workers polling one table
// never run a job twice at once, and a SIGKILLed holder's job is taken after its lease.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { constant, sleep } from '../../src/core/index.js';
import { createJobTable, type SqlScheduler, sqlScheduler } from '../../src/jobs/index.js';
import { bundledEntry } from '../harness/bundle.js';
import { deferred, nextEvent, tableName } from './helpers.js';
import { postgresDb, stopPostgres, type TestDb } from './sql-db.js';

const WORKER = fileURLToPath(new URL('./fixtures/sql-worker.ts', import.meta.url));

let env: TestDb & { url: string };
beforeAll(async () => {
  env = await postgresDb();
});
afterAll(async () => {
  await env.close();
  await stopPostgres();
});

describe('sqlScheduler under concurrency (PostgreSQL)', () => {
  it('never runs a job on two workers at once', async () => {
    const table = tableName();
    const runs = `${table}_runs`;
    await createJobTable(env.db, { table });
    await env.db.schema
      .createTable(runs)
      .addColumn('job', 'varchar(50)', (c) => c.notNull())
      .addColumn('worker', 'varchar(50)', (c) => c.notNull())
      .addColumn('started', 'double precision', (c) => c.notNull())
      .addColumn('ended', 'double precision', (c) => c.notNull())
      .execute();
    const jobs = ['a', 'b', 'c'];
    const active = new Map<string, number>();
    const finished = new Map<string, number>();
    let maxActive = 0;
    const workers: SqlScheduler[] = [];
    for (let w = 0; w < 4; w++) {
      const db = env.connect();
      const s = sqlScheduler(db, {
        table,
        workerId: `w${w}`,
        leaseMs: 5_000,
        pollMs: 3,
        retry: constant({ delayMs: 1 }),
      });
      workers.push(s);
      for (const job of jobs) {
        await s.register(job, {
          everyMs: 10,
          runImmediately: true,
          run: async () => {
            const now = active.get(job) ?? 0;
            active.set(job, now + 1);
            maxActive = Math.max(maxActive, now + 1);
            const started = performance.now();
            await sleep(Math.random() * 8);
            const ended = performance.now();
            active.set(job, (active.get(job) ?? 1) - 1);
            // Recorded by the holder while it still holds the job.
            await db
              .insertInto(runs)
              .values({ job, worker: `w${w}`, started, ended })
              .execute();
            finished.set(job, (finished.get(job) ?? 0) + 1);
            if (Math.random() < 0.2) throw new Error('failed run, retried');
          },
        });
      }
    }
    for (const s of workers) s.start();
    // Until every job has run a few times (1.5 s on a quiet machine; longer under load).
    const enough = () => jobs.every((job) => (finished.get(job) ?? 0) > 5);
    const start = Date.now();
    while ((!enough() || Date.now() - start < 1_500) && Date.now() - start < 20_000) {
      await sleep(100);
    }
    await Promise.all(workers.map((s) => s.close()));

    expect(maxActive).toBe(1);
    const rows = await env.db.selectFrom(runs).selectAll().orderBy('started').execute();
    for (const job of jobs) {
      const intervals = rows.filter((r) => r.job === job);
      expect(intervals.length).toBeGreaterThan(5);
      for (let i = 1; i < intervals.length; i++) {
        expect(intervals[i]?.started).toBeGreaterThanOrEqual(intervals[i - 1]?.ended);
      }
    }
    // The work was shared: more than one worker ran something.
    expect(new Set(rows.map((r) => r.worker)).size).toBeGreaterThan(1);
  }, 30_000);

  it('takes over the job of a SIGKILLed worker once its lease has expired', async () => {
    const table = tableName();
    await createJobTable(env.db, { table });
    const leaseMs = 800;
    const child = spawn(
      process.execPath,
      [await bundledEntry(WORKER), env.url, table, String(leaseMs)],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    const started = deferred<{ pid: number }>();
    createInterface({ input: child.stdout! }).on('line', (line) =>
      started.resolve(JSON.parse(line)),
    );
    child.on('exit', () => started.reject(new Error('worker exited early')));
    await started.promise;
    const held = await env.db.selectFrom(table).selectAll().executeTakeFirstOrThrow();
    expect(held.holder).toBe(`child:${child.pid}`);
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    // The lease the child last renewed; nobody may claim before it passes.
    const before = await env.db.selectFrom(table).selectAll().executeTakeFirstOrThrow();

    const s = sqlScheduler(env.connect(), { table, workerId: 'survivor', leaseMs, pollMs: 20 });
    try {
      const ran = deferred();
      const claimed = nextEvent(s.events, 'claimed');
      await s.register('crashy', { everyMs: 60_000, run: () => ran.resolve() });
      s.start();
      const event = await claimed;
      await ran.promise;
      expect(event).toMatchObject({ job: 'crashy', workerId: 'survivor', preempted: true });
      // Claimed after the dead holder's lease ran out, by the survivor's clock.
      expect(event.lateMs).toBeGreaterThan(0);
      const after = await env.db.selectFrom(table).selectAll().executeTakeFirstOrThrow();
      expect(Number(after.version)).toBeGreaterThan(Number(before.version));
    } finally {
      await s.close();
    }
  }, 30_000);
});
