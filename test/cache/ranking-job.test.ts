// rankingJob on a manual clock with real girder/jobs leader elections (memoryLock): who
// computes, what readers get, and what happens when computing or the cache fails.
import { describe, expect, it } from 'vitest';
import { type RankingCache, type RankingJobEvents, rankingJob } from '../../src/cache/index.js';
import { InvalidOptionsError, type ManualClock, manualClock } from '../../src/core/index.js';
import { type Election, leaderElection } from '../../src/jobs/index.js';
import { memoryLock } from '../../src/lock/index.js';

/** A cache shared by "instances" in this process; `down` makes it throw like an outage. */
function sharedCache<R>() {
  const entries = new Map<string, { value: R; expiresAt: number }>();
  const state = { down: false, sets: 0 };
  const of = (now: () => number): RankingCache<R> => ({
    async get(key) {
      if (state.down) throw new Error('store down');
      const e = entries.get(key);
      return e !== undefined && now() < e.expiresAt ? e.value : undefined;
    },
    async set(key, value, { ttlMs }) {
      if (state.down) throw new Error('store down');
      state.sets++;
      entries.set(key, { value, expiresAt: now() + ttlMs });
    },
  });
  return { of, state, entries };
}

/** `n` elections competing on one memoryLock; the first created leads after `advanceAsync(0)`. */
function elections(clock: ManualClock, n: number) {
  const locker = memoryLock({ clock });
  const list = Array.from({ length: n }, () =>
    leaderElection({ locker, name: 'ranking', ttlMs: 3_000, pollMs: 500, clock }),
  );
  return {
    list,
    async close() {
      for (const e of list) await e.close();
      await locker.close();
    },
  };
}

function record(job: { events: { on: (e: never, l: never) => unknown } }) {
  const seen: string[] = [];
  for (const e of ['computed', 'failed', 'skipped', 'fallback'] as const) {
    (job.events.on as (e: string, l: (p: unknown) => void) => void)(e, (p) =>
      seen.push(e === 'skipped' ? `skipped:${(p as RankingJobEvents['skipped']).reason}` : e),
    );
  }
  return seen;
}

describe('rankingJob', () => {
  it('the leader computes when elected and every period; followers read what it stored', async () => {
    const clock = manualClock(0);
    const shared = sharedCache<string[]>();
    const { list, close } = elections(clock, 2);
    const [ea, eb] = list as [Election, Election];
    const computedBy: string[] = [];
    const make = (who: string, election: Election) =>
      rankingJob({
        name: 'popular',
        compute: async () => {
          computedBy.push(who);
          return [`top-${computedBy.length}`];
        },
        cache: shared.of(clock.now),
        everyMs: 1_000,
        election,
        clock,
      });
    const a = make('a', ea);
    const b = make('b', eb);
    const seenB = record(b);
    await clock.advanceAsync(0); // a is elected and computes at once
    expect(computedBy).toEqual(['a']);
    expect(await b.get()).toEqual(['top-1']);
    await clock.advanceAsync(1_000); // first period: the leader only
    expect(computedBy).toEqual(['a', 'a']);
    expect(await a.get()).toEqual(['top-2']);
    expect(await b.get()).toEqual(['top-2']);
    expect(seenB).toEqual(['skipped:follower']);
    // The leader stops: b takes over within one poll and computes at once.
    await a.close();
    await ea.close();
    await clock.advanceAsync(500);
    expect(eb.isLeader).toBe(true);
    expect(computedBy).toEqual(['a', 'a', 'b']);
    await clock.advanceAsync(1_000);
    expect(computedBy).toEqual(['a', 'a', 'b', 'b']);
    await b.close();
    await close();
  });

  it('one of three instances computes each period; another takes over when it stops', async () => {
    const clock = manualClock(0);
    const shared = sharedCache<string>();
    const { list, close } = elections(clock, 3);
    const computedBy: number[] = [];
    const jobs = list.map((election, i) =>
      rankingJob({
        name: 'popular',
        compute: () => {
          computedBy.push(i);
          return `by ${i}`;
        },
        cache: shared.of(clock.now),
        everyMs: 1_000,
        election,
        runOnElected: false,
        clock,
      }),
    );
    await clock.advanceAsync(0);
    const leader = list.findIndex((e) => e.isLeader);
    expect(leader).toBeGreaterThanOrEqual(0);
    await clock.advanceAsync(3_000);
    expect(computedBy).toEqual([leader, leader, leader]);
    for (const job of jobs) expect(await job.get()).toBe(`by ${leader}`);
    await jobs[leader]?.close();
    await list[leader]?.close();
    computedBy.length = 0;
    await clock.advanceAsync(3_000);
    expect(new Set(computedBy).size).toBe(1);
    expect(computedBy[0]).not.toBe(leader);
    for (const job of jobs) await job.close();
    await close();
  });

  it('stores with a TTL longer than the period (default 3 x everyMs)', async () => {
    const clock = manualClock(0);
    const shared = sharedCache<number>();
    const { list, close } = elections(clock, 1);
    const election = list[0] as Election;
    const job = rankingJob({
      name: 'r',
      compute: () => 7,
      cache: shared.of(clock.now),
      everyMs: 1_000,
      election,
      clock,
    });
    await clock.advanceAsync(0);
    expect(shared.entries.get('ranking:r')?.expiresAt).toBe(3_000);
    await job.close();
    const custom = rankingJob({
      name: 'r',
      key: 'k',
      ttlMs: 1_500,
      compute: () => 7,
      cache: shared.of(clock.now),
      everyMs: 1_000,
      election,
      clock,
    });
    await clock.advanceAsync(1_000);
    expect(shared.entries.get('k')?.expiresAt).toBe(clock.now() + 1_500);
    await custom.close();
    await close();
  });

  it('a failed run keeps the previous ranking and is tried again next period', async () => {
    const clock = manualClock(0);
    const shared = sharedCache<string>();
    const { list, close } = elections(clock, 1);
    let fail = false;
    const job = rankingJob({
      name: 'r',
      compute: async () => {
        if (fail) throw new Error('db down');
        return 'v1';
      },
      cache: shared.of(clock.now),
      everyMs: 1_000,
      election: list[0] as Election,
      clock,
    });
    const seen = record(job);
    await clock.advanceAsync(0);
    fail = true;
    await clock.advanceAsync(1_000);
    expect(await job.get()).toBe('v1');
    fail = false;
    await clock.advanceAsync(1_000);
    expect(seen).toEqual(['computed', 'failed', 'computed']);
    await job.close();
    await close();
  });

  it('the cache down: readers get the last ranking; the leader still computes and serves its result', async () => {
    const clock = manualClock(0);
    const shared = sharedCache<string>();
    const { list, close } = elections(clock, 2);
    let n = 0;
    const leader = rankingJob({
      name: 'r',
      compute: () => `v${++n}`,
      cache: shared.of(clock.now),
      everyMs: 1_000,
      election: list[0] as Election,
      clock,
    });
    const reader = rankingJob({
      name: 'r',
      compute: () => 'never',
      cache: shared.of(clock.now),
      everyMs: 1_000,
      election: list[1] as Election,
      clock,
    });
    await clock.advanceAsync(0);
    expect(await reader.get()).toBe('v1');
    shared.state.down = true;
    const seen = record(reader);
    expect(await reader.get()).toBe('v1');
    expect(seen).toEqual(['fallback']);
    const failures: string[] = [];
    leader.events.on('failed', ({ stage }) => failures.push(stage));
    await clock.advanceAsync(1_000);
    expect(failures).toEqual(['store']);
    expect(await leader.get()).toBe('v2'); // its own copy, though the store failed
    shared.state.down = false;
    await clock.advanceAsync(1_000);
    expect(await reader.get()).toBe('v3');
    await leader.close();
    await reader.close();
    await close();
  });

  it('before any ranking exists, get answers undefined (readers never compute)', async () => {
    const clock = manualClock(0);
    const shared = sharedCache<string>();
    const { list, close } = elections(clock, 2);
    let runs = 0;
    const job = rankingJob({
      name: 'r',
      compute: () => `v${++runs}`,
      cache: shared.of(clock.now),
      everyMs: 1_000,
      election: list[1] as Election,
      clock,
    });
    await clock.advanceAsync(0);
    expect(list[1]?.isLeader).toBe(false);
    expect(await job.get()).toBeUndefined();
    await clock.advanceAsync(1_000);
    expect(runs).toBe(0);
    await job.close();
    await close();
  });

  it('a run slower than timeoutMs is aborted; a period during a run is skipped as overlap', async () => {
    const clock = manualClock(0);
    const shared = sharedCache<string>();
    const { list, close } = elections(clock, 1);
    const signals: AbortSignal[] = [];
    const job = rankingJob({
      name: 'r',
      compute: ({ signal }) => {
        signals.push(signal);
        return new Promise<string>(() => {}); // never ends on its own
      },
      cache: shared.of(clock.now),
      everyMs: 1_000,
      timeoutMs: 1_500,
      election: list[0] as Election,
      clock,
    });
    const failed: unknown[] = [];
    job.events.on('failed', ({ error }) => failed.push(error));
    const seen = record(job);
    await clock.advanceAsync(1_000);
    expect(seen).toEqual(['skipped:overlap']);
    await clock.advanceAsync(500);
    expect(signals[0]?.aborted).toBe(true);
    expect(failed[0]).toMatchObject({ code: 'RANKING_TIMEOUT', timeoutMs: 1_500 });
    await job.close();
    await close();
  });

  it('refresh computes now on any instance; close aborts a run and refuses later refreshes', async () => {
    const clock = manualClock(0);
    const shared = sharedCache<string>();
    const { list, close } = elections(clock, 2);
    await clock.advanceAsync(0);
    const follower = list[1] as Election;
    expect(follower.isLeader).toBe(false);
    const job = rankingJob({
      name: 'r',
      compute: () => 'now',
      cache: shared.of(clock.now),
      everyMs: 1_000,
      election: follower,
      clock,
    });
    expect(await job.refresh()).toBe('now');
    expect(await job.get()).toBe('now');
    await job[Symbol.asyncDispose]();
    await expect(job.refresh()).rejects.toMatchObject({ code: 'RANKING_CLOSED' });
    await expect(job.refresh('x' as never)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });

    let signal: AbortSignal | undefined;
    const slow = rankingJob({
      name: 's',
      compute: (c) => {
        signal = c.signal;
        return new Promise<string>(() => {});
      },
      cache: shared.of(clock.now),
      everyMs: 1_000,
      election: list[0] as Election,
      clock,
    });
    await clock.advanceAsync(0);
    await slow.close();
    expect(signal?.aborted).toBe(true);
    expect(signal?.reason).toMatchObject({ code: 'RANKING_CLOSED' });
    await close();
  });

  it('refuses bad options with INVALID_OPTIONS', async () => {
    const clock = manualClock(0);
    const { list, close } = elections(clock, 1);
    const base = {
      name: 'r',
      compute: () => 1,
      cache: sharedCache<number>().of(clock.now),
      everyMs: 1_000,
      election: list[0] as Election,
      clock,
      runOnElected: false,
    };
    for (const bad of [
      { everyMs: 10 },
      { ttlMs: 1_000 },
      { name: '' },
      { cache: {} },
      { election: { isLeader: true } },
      { evryMs: 1 },
    ]) {
      expect(() => rankingJob({ ...base, ...bad } as never)).toThrow(InvalidOptionsError);
    }
    await close();
  });
});
