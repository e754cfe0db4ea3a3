// The ops page's view of the jobs, locks and caches: this instance's leadership, the
// locks it holds (`locker.held()`), each job this process runs (its scheduled sweeps'
// last run and next one, the ranking's last computation), and each cache layer's hit ratio
// (girder/observability's `cache_lookups_total`, read from the shop's registry).
import type { RankingJob } from 'girder/cache';
import type { Clock } from 'girder/core';
import type { Election, ScheduledJob } from 'girder/jobs';
import type { Locker } from 'girder/lock';
import type { Registry } from 'prom-client';
import { OPS_METRICS } from './names.js';

export interface LeaderView {
  /** The election's name. */
  name: string;
  /** Whether this instance leads it now. */
  leader: boolean;
  /** The leadership's term (the lock's fence) while leading. */
  term: number | null;
  /** Epoch ms this instance became leader, while leading. */
  since: number | null;
}

export interface HeldLockView {
  key: string;
  fence: number;
  /** Epoch ms it was acquired. */
  since: number;
  /** Renewals so far. */
  renewals: number;
}

export interface JobView {
  name: string;
  running: boolean;
  lastResult: string | null;
  lastDurationMs: number | null;
  /** Epoch ms of the last run's end on this instance. */
  lastRunAt: number | null;
  nextRunAt: number | null;
  /** Runs on this instance since it started, by result. */
  runs: Record<string, number>;
}

export interface CacheLayerView {
  cache: string;
  layer: 'l1' | 'l2';
  hits: number;
  misses: number;
  /** hits / (hits + misses), null before any lookup. */
  ratio: number | null;
}

export interface JobsOpsSnapshot {
  leaders: LeaderView[];
  locks: HeldLockView[];
  jobs: JobView[];
  caches: CacheLayerView[];
}

/**
 * Lists the locker's held locks on each snapshot, and follows the elections and
 * scheduled jobs given to `follow` through their events.
 */
export function jobsOps(clock: Clock, locker: Locker) {
  const stops: Array<() => void> = [];
  const parts = { elections: [] as Election[], jobs: [] as Array<() => JobView> };
  const since = new Map<string, number>();
  const runs = new Map<string, { counts: Record<string, number>; at: number | null }>();
  const followElection = (e: Election) => {
    parts.elections.push(e);
    if (e.isLeader) since.set(e.name, clock.now());
    stops.push(e.events.on('elected', () => since.set(e.name, clock.now())));
    stops.push(e.events.on('demoted', () => since.delete(e.name)));
  };
  const counted = (name: string) => {
    const r = { counts: {} as Record<string, number>, at: null as number | null };
    runs.set(name, r);
    return {
      finished(result: string) {
        r.counts[result] = (r.counts[result] ?? 0) + 1;
        r.at = clock.now();
      },
      skipped(reason: string) {
        const k = `skipped-${reason}`;
        r.counts[k] = (r.counts[k] ?? 0) + 1;
      },
    };
  };
  const followJob = (j: ScheduledJob) => {
    const r = counted(j.name);
    stops.push(
      j.events.on('finished', ({ result }) => r.finished(result)),
      j.events.on('skipped', ({ reason }) => r.skipped(reason)),
    );
    parts.jobs.push(() => ({
      name: j.name,
      running: j.running,
      lastResult: j.lastResult ?? null,
      lastDurationMs: j.lastDurationMs ?? null,
      lastRunAt: runs.get(j.name)?.at ?? null,
      nextRunAt: j.nextRunAt ?? null,
      runs: { ...runs.get(j.name)?.counts },
    }));
  };
  // A ranking job has no schedule to show: its last computation and its counts only.
  const followRanking = (j: RankingJob<unknown>) => {
    const r = counted(j.name);
    let last: { result: string; durationMs: number } | undefined;
    stops.push(
      j.events.on('computed', ({ durationMs }) => {
        r.finished('ok');
        last = { result: 'ok', durationMs };
      }),
      j.events.on('failed', ({ durationMs }) => {
        r.finished('failed');
        last = { result: 'failed', durationMs };
      }),
      j.events.on('skipped', ({ reason }) => r.skipped(reason)),
    );
    parts.jobs.push(() => ({
      name: j.name,
      running: false,
      lastResult: last?.result ?? null,
      lastDurationMs: last?.durationMs ?? null,
      lastRunAt: runs.get(j.name)?.at ?? null,
      nextRunAt: null,
      runs: { ...runs.get(j.name)?.counts },
    }));
  };
  return {
    /** Show these elections and jobs too (scheduled sweeps, and ranking jobs). */
    follow(
      elections: readonly Election[],
      jobs: readonly ScheduledJob[],
      rankings: readonly RankingJob<unknown>[] = [],
    ) {
      for (const e of elections) followElection(e);
      for (const j of jobs) followJob(j);
      for (const j of rankings) followRanking(j);
    },
    async snapshot(registry: Registry): Promise<JobsOpsSnapshot> {
      return {
        leaders: parts.elections.map((e) => ({
          name: e.name,
          leader: e.isLeader,
          term: e.term ?? null,
          since: e.isLeader ? (since.get(e.name) ?? null) : null,
        })),
        locks: locker.held().map((h) => ({
          key: h.key,
          fence: h.fence,
          since: h.acquiredAt,
          renewals: h.renewals,
        })),
        jobs: parts.jobs.map((view) => view()),
        caches: await cacheLayers(registry),
      };
    },
    stop: () => {
      for (const s of stops) s();
    },
  };
}

interface Family {
  name: string;
  values: Array<{ value: number; labels: Record<string, string | number | undefined> }>;
}

/** Hits and misses per cache and layer, from girder/observability's lookup counter. */
async function cacheLayers(registry: Registry): Promise<CacheLayerView[]> {
  const N = OPS_METRICS.cache;
  const metric = registry.getSingleMetric(N.lookups);
  if (!metric) return [];
  const family = (await metric.get()) as unknown as Family;
  const views = new Map<string, CacheLayerView>();
  for (const s of family.values) {
    const cache = String(s.labels.name ?? '');
    const layer = s.labels.layer === 'l2' ? 'l2' : 'l1';
    const key = `${cache}/${layer}`;
    let v = views.get(key);
    if (!v) {
      v = { cache, layer, hits: 0, misses: 0, ratio: null };
      views.set(key, v);
    }
    if (s.labels.result === 'hit') v.hits += s.value;
    else if (s.labels.result === 'miss') v.misses += s.value;
  }
  // A layer never looked up (no L2 when embedded) has no row.
  const used = [...views.values()].filter((v) => v.hits + v.misses > 0);
  for (const v of used) v.ratio = v.hits / (v.hits + v.misses);
  return used.sort((a, b) => `${a.cache}${a.layer}`.localeCompare(`${b.cache}${b.layer}`));
}
