// rankingJob on a manual clock: who computes, what readers get, and what happens when
// computing or the cache fails.
import { describe, expect, it } from 'vitest';
import { type RankingCache, type RankingJobEvents, rankingJob } from '../../src/cache/index.js';
import { InvalidOptionsError, manualClock } from '../../src/core/index.js';

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
  it('only the leader computes, every period; followers read what it stored', async () => {
    const clock = manualClock(0);
    const shared = sharedCache<string[]>();
    let runs = 0;
    const compute = async () => [`top-${++runs}`];
    const leader = { isLeader: true };
    const follower = { isLeader: false };
    const a = rankingJob({
      name: 'popular',
      compute,
      cache: shared.of(clock.now),
      everyMs: 1_000,
      election: leader,
      clock,
    });
    const b = rankingJob({
      name: 'popular',
      compute,
      cache: shared.of(clock.now),
      everyMs: 1_000,
      election: follower,
      clock,
    });
    const seenB = record(b);
    await clock.advanceAsync(0);
    expect(runs).toBe(1);
    expect(await b.get()).toEqual(['top-1']);
    await clock.advanceAsync(1_000);
    expect(runs).toBe(2);
    expect(await a.get()).toEqual(['top-2']);
    expect(await b.get()).toEqual(['top-2']);
    expect(seenB).toEqual(['skipped:follower', 'skipped:follower']);
    // Leadership moves: the other instance takes over at its next period.
    leader.isLeader = false;
    follower.isLeader = true;
    await clock.advanceAsync(1_000);
    expect(runs).toBe(3);
    await a.close();
    await b.close();
    expect(clock.pendingTimers).toBe(0);
  });

  it('stores with a TTL longer than the period (default 3 x everyMs)', async () => {
    const clock = manualClock(0);
    const shared = sharedCache<number>();
    const job = rankingJob({
      name: 'r',
      compute: () => 7,
      cache: shared.of(clock.now),
      everyMs: 1_000,
      election: { isLeader: true },
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
      election: { isLeader: true },
      clock,
    });
    await clock.advanceAsync(0);
    expect(shared.entries.get('k')?.expiresAt).toBe(clock.now() + 1_500);
    await custom.close();
  });

  it('a failed run keeps the previous ranking and is tried again next period', async () => {
    const clock = manualClock(0);
    const shared = sharedCache<string>();
    let fail = false;
    const job = rankingJob({
      name: 'r',
      compute: async () => {
        if (fail) throw new Error('db down');
        return 'v1';
      },
      cache: shared.of(clock.now),
      everyMs: 1_000,
      election: { isLeader: true },
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
  });

  it('the cache down: readers get the last ranking; the leader still computes and serves its result', async () => {
    const clock = manualClock(0);
    const shared = sharedCache<string>();
    let n = 0;
    const leader = rankingJob({
      name: 'r',
      compute: () => `v${++n}`,
      cache: shared.of(clock.now),
      everyMs: 1_000,
      election: { isLeader: true },
      clock,
    });
    const reader = rankingJob({
      name: 'r',
      compute: () => 'never',
      cache: shared.of(clock.now),
      everyMs: 1_000,
      election: { isLeader: false },
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
  });

  it('before any ranking exists, get answers undefined (readers never compute)', async () => {
    const clock = manualClock(0);
    const shared = sharedCache<string>();
    let runs = 0;
    const job = rankingJob({
      name: 'r',
      compute: () => `v${++runs}`,
      cache: shared.of(clock.now),
      everyMs: 1_000,
      election: { isLeader: false },
      clock,
    });
    expect(await job.get()).toBeUndefined();
    expect(runs).toBe(0);
    await job.close();
  });

  it('a run slower than timeoutMs is aborted; a period during a run is skipped as overlap', async () => {
    const clock = manualClock(0);
    const shared = sharedCache<string>();
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
      election: { isLeader: true },
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
  });

  it('refresh computes now on any instance; close aborts a run and refuses later refreshes', async () => {
    const clock = manualClock(0);
    const shared = sharedCache<string>();
    const job = rankingJob({
      name: 'r',
      compute: () => 'now',
      cache: shared.of(clock.now),
      everyMs: 1_000,
      election: { isLeader: false },
      runOnStart: false,
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
      election: { isLeader: true },
      clock,
    });
    await clock.advanceAsync(0);
    await slow.close();
    expect(signal?.aborted).toBe(true);
    expect(signal?.reason).toMatchObject({ code: 'RANKING_CLOSED' });
  });

  it('refuses bad options with INVALID_OPTIONS', () => {
    const clock = manualClock(0);
    const base = {
      name: 'r',
      compute: () => 1,
      cache: sharedCache<number>().of(clock.now),
      everyMs: 1_000,
      election: { isLeader: true },
      clock,
      runOnStart: false,
    };
    for (const bad of [
      { everyMs: 10 },
      { ttlMs: 1_000 },
      { name: '' },
      { cache: {} },
      { election: {} },
      { evryMs: 1 },
    ]) {
      expect(() => rankingJob({ ...base, ...bad } as never)).toThrow(InvalidOptionsError);
    }
  });
});
