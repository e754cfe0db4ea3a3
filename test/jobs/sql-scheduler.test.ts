// sqlScheduler on PGlite and on a real PostgreSQL, with manual clocks: claim by
// compare-and-set, renewal, preemption after the lease, rescheduling.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { constant, manualClock } from '../../src/core/index.js';
import {
  createJobTable,
  JobLostError,
  type SqlScheduler,
  type SqlSchedulerOptions,
  sqlScheduler,
} from '../../src/jobs/index.js';
import { aborted, deferred, nextEvent, tableName } from './helpers.js';
import { pgliteDb, postgresDb, stopPostgres, type TestDb } from './sql-db.js';

const backends: [string, () => Promise<TestDb>][] = [
  ['PGlite', pgliteDb],
  ['PostgreSQL', postgresDb],
];

afterAll(() => stopPostgres());

describe.each(backends)('sqlScheduler on %s', (_name, open) => {
  let env: TestDb;
  let table: string;
  const schedulers: SqlScheduler[] = [];
  const T0 = 1_700_000_000_000;

  // PGlite's WebAssembly start-up takes a second on an idle machine, far longer on a busy one.
  beforeAll(async () => {
    env = await open();
  }, 180_000);
  afterAll(() => env.close());
  afterEach(async () => {
    await Promise.all(schedulers.splice(0).map((s) => s.close()));
  });

  const make = async (opts: SqlSchedulerOptions = {}) => {
    const s = sqlScheduler(env.connect(), { table, leaseMs: 3_000, renewEveryMs: 1_000, ...opts });
    schedulers.push(s);
    return s;
  };
  const row = async () => {
    const r = await env.db.selectFrom(table).selectAll().executeTakeFirstOrThrow();
    return {
      ...r,
      version: Number(r.version),
      next_run_at: Number(r.next_run_at),
      lease_until: Number(r.lease_until),
    };
  };

  it('creates the table idempotently and registers a row once per job name', async () => {
    table = tableName();
    await createJobTable(env.db, { table });
    await createJobTable(env.db, { table });
    const clock = manualClock(T0);
    const a = await make({ clock, workerId: 'a' });
    const b = await make({ clock, workerId: 'b' });
    await Promise.all([
      a.register('report', { everyMs: 60_000, run: () => {} }),
      b.register('report', { everyMs: 60_000, run: () => {} }),
    ]);
    const rows = await env.db.selectFrom(table).selectAll().execute();
    expect(rows).toHaveLength(1);
    expect(Number(rows[0]?.next_run_at)).toBe(T0 + 60_000 - (T0 % 60_000));
    await expect(a.register('report', { everyMs: 1, run: () => {} })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    await expect(a.register('', { everyMs: 1, run: () => {} })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    await expect(
      a.register('x', { everyMs: 1, cron: '* * * * *', run: () => {} }),
    ).rejects.toMatchObject({ code: 'INVALID_OPTIONS' });
    await expect(a.register('y', { run: () => {} })).rejects.toMatchObject({
      code: 'INVALID_OPTIONS',
    });
    await expect(a.register('z', { cron: 'not a cron', run: () => {} })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
  });

  it('runs a due job on exactly one of two workers polling at once, then reschedules it', async () => {
    table = tableName();
    await createJobTable(env.db, { table });
    const clock = manualClock(T0);
    const a = await make({ clock, workerId: 'a' });
    const b = await make({ clock, workerId: 'b' });
    let runs = 0;
    const release = deferred();
    for (const s of [a, b]) {
      await s.register('tick', {
        everyMs: 10_000,
        runImmediately: true,
        run: async (signal) => {
          runs += 1;
          await Promise.race([release.promise, aborted(signal)]);
        },
      });
    }
    const claimed = await Promise.all([a.poll(), b.poll()]);
    const holder = claimed[0] === 1 ? 'a' : 'b';
    expect([...claimed].sort()).toEqual([0, 1]);
    expect(await row()).toMatchObject({ status: 'running', holder, version: 1 });
    // Polling again while it runs claims nothing.
    expect(await Promise.all([a.poll(), b.poll()])).toEqual([0, 0]);

    const finished = nextEvent((holder === 'a' ? a : b).events, 'finished');
    clock.advance(500);
    release.resolve();
    expect(await finished).toMatchObject({ job: 'tick', result: 'ok', durationMs: 500 });
    expect(runs).toBe(1);
    const next = T0 - (T0 % 10_000) + 10_000;
    expect(await row()).toMatchObject({
      status: 'waiting',
      holder: null,
      next_run_at: next,
      failures: 0,
      last_result: 'ok',
      version: 2,
    });
    // Not due yet; due at the next interval.
    expect(await a.poll()).toBe(0);
    clock.set(next);
    expect((await Promise.all([a.poll(), b.poll()])).reduce((x, y) => x + y)).toBe(1);
  });

  it('reschedules a failed run after the retry backoff, and resets failures on success', async () => {
    table = tableName();
    await createJobTable(env.db, { table });
    const clock = manualClock(T0);
    const s = await make({ clock, retry: constant({ delayMs: 700 }) });
    let fail = true;
    await s.register('flaky', {
      everyMs: 60_000,
      runImmediately: true,
      run: () => {
        if (fail) throw new Error('boom');
      },
    });
    let finished = nextEvent(s.events, 'finished');
    expect(await s.poll()).toBe(1);
    expect(await finished).toMatchObject({ result: 'failed', nextRunAt: T0 + 700 });
    expect((await finished).error).toBeInstanceOf(Error);
    expect(await row()).toMatchObject({
      failures: 1,
      last_result: 'failed',
      next_run_at: T0 + 700,
    });

    expect(await s.poll()).toBe(0);
    clock.advance(700);
    finished = nextEvent(s.events, 'finished');
    expect(await s.poll()).toBe(1);
    await finished;
    expect(await row()).toMatchObject({ failures: 2, next_run_at: T0 + 1_400 });

    fail = false;
    clock.advance(700);
    finished = nextEvent(s.events, 'finished');
    expect(await s.poll()).toBe(1);
    expect(await finished).toMatchObject({ result: 'ok' });
    expect(await row()).toMatchObject({ failures: 0, last_result: 'ok' });
  });

  it('renews the lease while the job runs', async () => {
    table = tableName();
    await createJobTable(env.db, { table });
    const clock = manualClock(T0);
    const s = await make({ clock });
    const done = deferred();
    let signal: AbortSignal | undefined;
    await s.register('long', {
      everyMs: 60_000,
      runImmediately: true,
      run: async (sig) => {
        signal = sig;
        await done.promise;
      },
    });
    await s.poll();
    for (let i = 1; i <= 4; i++) {
      const renewed = nextEvent(s.events, 'renewed');
      clock.advance(1_000);
      expect(await renewed).toEqual({ job: 'long', leaseUntil: T0 + i * 1_000 + 3_000 });
    }
    expect(await row()).toMatchObject({ version: 5, lease_until: T0 + 7_000 });
    expect(signal?.aborted).toBe(false);
    const finished = nextEvent(s.events, 'finished');
    done.resolve();
    expect(await finished).toMatchObject({ result: 'ok' });
  });

  it('lets another worker take a job whose holder stopped renewing; the old holder is aborted', async () => {
    table = tableName();
    await createJobTable(env.db, { table });
    // Two clocks: the holder's is frozen (a paused or dead process), the other moves on.
    const clockA = manualClock(T0);
    const clockB = manualClock(T0);
    const a = await make({ clock: clockA, workerId: 'a', clockSkewMs: 0 });
    const b = await make({ clock: clockB, workerId: 'b', clockSkewMs: 0 });
    const signals: Record<string, AbortSignal> = {};
    for (const [id, s] of [
      ['a', a],
      ['b', b],
    ] as const) {
      await s.register('job', {
        everyMs: 60_000,
        runImmediately: true,
        run: async (signal) => {
          signals[id] = signal;
          await aborted(signal);
        },
      });
    }
    expect(await a.poll()).toBe(1);
    // Within the lease, b cannot take it.
    clockB.advance(3_000);
    expect(await b.poll()).toBe(0);
    clockB.advance(1);
    const claimed = nextEvent(b.events, 'claimed');
    expect(await b.poll()).toBe(1);
    expect(await claimed).toMatchObject({ job: 'job', workerId: 'b', preempted: true, lateMs: 1 });
    expect(await row()).toMatchObject({ holder: 'b', version: 2 });

    // a wakes up: its renewal finds the row changed and aborts its job.
    const lost = nextEvent(a.events, 'lost');
    const aFinished = nextEvent(a.events, 'finished');
    clockA.advance(1_000);
    expect(await lost).toMatchObject({ job: 'job', reason: 'preempted' });
    const reason = signals.a?.reason;
    expect(reason).toBeInstanceOf(JobLostError);
    expect(reason).toMatchObject({ code: 'JOB_LOST', reason: 'preempted' });
    expect(await aFinished).toMatchObject({ result: 'lost', nextRunAt: undefined });
    // b still holds it untouched.
    expect(signals.b?.aborted).toBe(false);
    expect(await row()).toMatchObject({ holder: 'b', version: 2, status: 'running' });
  });

  it('aborts the job when the lease runs out before a renewal is confirmed', async () => {
    table = tableName();
    await createJobTable(env.db, { table });
    const clock = manualClock(T0);
    const s = await make({ clock, clockSkewMs: 200 });
    let signal: AbortSignal | undefined;
    await s.register('job', {
      everyMs: 60_000,
      runImmediately: true,
      run: async (sig) => {
        signal = sig;
        await aborted(sig);
      },
    });
    await s.poll();
    const lost = nextEvent(s.events, 'lost');
    // All timers fire synchronously: the renewals are still in flight when the local
    // deadline (lease end minus clock skew) passes.
    clock.advance(2_800);
    expect(await lost).toEqual({ job: 'job', reason: 'deadline', heldMs: 2_800 });
    expect(signal?.reason).toMatchObject({ code: 'JOB_LOST', reason: 'deadline' });
  });

  it('times a run out, counts it failed and retries after the backoff', async () => {
    table = tableName();
    await createJobTable(env.db, { table });
    const clock = manualClock(T0);
    const s = await make({ clock, retry: constant({ delayMs: 5_000 }) });
    await s.register('slow', {
      everyMs: 60_000,
      runImmediately: true,
      timeoutMs: 500,
      run: (signal) => aborted(signal).then((r) => Promise.reject(r)),
    });
    await s.poll();
    const finished = nextEvent(s.events, 'finished');
    clock.advance(500);
    expect(await finished).toMatchObject({ result: 'timeout', nextRunAt: T0 + 5_500 });
    expect((await finished).error).toMatchObject({ code: 'TIMEOUT' });
  });

  it('close() aborts running jobs and hands them back due at once', async () => {
    table = tableName();
    await createJobTable(env.db, { table });
    const clock = manualClock(T0);
    const s = await make({ clock });
    let signal: AbortSignal | undefined;
    await s.register('job', {
      everyMs: 60_000,
      runImmediately: true,
      run: async (sig) => {
        signal = sig;
        await aborted(sig);
      },
    });
    await s.poll();
    expect(s.running).toEqual(['job']);
    clock.advance(100);
    await s.close();
    expect(signal?.reason).toMatchObject({ code: 'JOB_LOST', reason: 'closed' });
    expect(await row()).toMatchObject({
      status: 'waiting',
      holder: null,
      next_run_at: T0 + 100,
      last_result: 'aborted',
    });
    expect(s.running).toEqual([]);
    await expect(s.register('other', { everyMs: 1, run: () => {} })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
  });

  it('schedules cron jobs with croner', async () => {
    table = tableName();
    await createJobTable(env.db, { table });
    const start = Date.UTC(2026, 0, 1, 10, 7, 30);
    const clock = manualClock(start);
    const s = await make({ clock });
    await s.register('every-15', { cron: '*/15 * * * *', timezone: 'UTC', run: () => {} });
    expect(await row()).toMatchObject({ next_run_at: Date.UTC(2026, 0, 1, 10, 15) });
    clock.set(Date.UTC(2026, 0, 1, 10, 15));
    const finished = nextEvent(s.events, 'finished');
    expect(await s.poll()).toBe(1);
    expect(await finished).toMatchObject({ result: 'ok', nextRunAt: Date.UTC(2026, 0, 1, 10, 30) });
  });
});

describe('sqlScheduler options', () => {
  it('refuses bad options with INVALID_OPTIONS naming the field', () => {
    // Options are checked before the database is used.
    const db = {} as never;
    const bad: [SqlSchedulerOptions, string][] = [
      [{ leaseMs: 0 }, 'leaseMs'],
      [{ leaseMs: 1_000, renewEveryMs: 1_000 }, 'renewEveryMs'],
      [{ leaseMs: 1_000, renewEveryMs: 500, clockSkewMs: 600 }, 'clockSkewMs'],
      [{ table: 'x; drop table y' }, 'table'],
      [{ pollMs: -1 }, 'pollMs'],
    ];
    for (const [opts, field] of bad) {
      expect(() => sqlScheduler(db, opts)).toThrow(
        expect.objectContaining({ code: 'INVALID_OPTIONS' }),
      );
      expect(() => sqlScheduler(db, opts)).toThrow(field);
    }
  });
});
