// Metrics of girder/cache blocks: a cache's lookups by layer (so each layer's hit ratio
// is one PromQL division), stale serves, loader durations, failures; a ranking job's
// runs; counters' misses and errors.
import type { EventSource } from '../core/index.js';
import { cellsBy, type Scope, subscribe } from './scope.js';
import { eventedBag, isFn } from './shape.js';

/** @internal The girder/cache kinds of block. */
export type CacheBlockKind = 'cache' | 'ranking' | 'counters';

/** @internal Which girder/cache block `block` is, if any. */
export function cacheKindOf(block: unknown): CacheBlockKind | undefined {
  const b = eventedBag(block);
  if (b === undefined) return undefined;
  if (isFn(b.getOrSet) && isFn(b.deleteByTag)) return 'cache';
  if (isFn(b.refresh) && isFn(b.get) && typeof b.key === 'string') return 'ranking';
  if (isFn(b.incr) && isFn(b.init) && isFn(b.getAll)) return 'counters';
  return undefined;
}

// The payloads read here, by shape: the mapping needs only these fields.
type Layer = 'l1' | 'l2';
/** @internal The cache events the mapping reads. */
export type CacheEventsRead = {
  hit: { layer: Layer; negative: boolean };
  miss: { layer: Layer };
  stale: { layer: Layer; reason: string };
  load: { durationMs: number; outcome: string; background: boolean };
  error: { error: unknown };
  storeError: { error: unknown };
  fallback: { error: unknown };
  recovered: { downMs: number };
  flushed: { reason: string; entries: number };
  busError: { error: unknown };
  lockFallback: { error: unknown };
  invalidated: { scope: string; source: string };
};

/** @internal Map a cache's events to `<prefix>cache_*`. */
export function watchCache(scope: Scope, events: EventSource<CacheEventsRead>): () => void {
  const lookups = scope.counter(
    'cache_lookups_total',
    'Cache lookups by layer and result (hit, miss); hit ratio of a layer = hit / (hit + miss).',
    ['layer', 'result'],
  );
  const cells = {
    l1: {
      hit: lookups.series({ layer: 'l1', result: 'hit' }),
      miss: lookups.series({ layer: 'l1', result: 'miss' }),
    },
    l2: {
      hit: lookups.series({ layer: 'l2', result: 'hit' }),
      miss: lookups.series({ layer: 'l2', result: 'miss' }),
    },
  };
  const negative = scope.counter(
    'cache_negative_hits_total',
    'Cache hits on a negative ("not found") entry, by layer (also counted as hits).',
    ['layer'],
  );
  const negativeCells = {
    l1: negative.series({ layer: 'l1' }),
    l2: negative.series({ layer: 'l2' }),
  };
  const stale = cellsBy(
    scope.counter(
      'cache_stale_total',
      'Stale values served, by layer and reason (grace, softTimeout, loaderError).',
      ['layer', 'reason'],
    ),
  );
  const loadDuration = scope.histogram(
    'cache_load_duration_seconds',
    'Duration of cache loader calls, seconds, by outcome (value, notFound, error) and background (true, false).',
    ['outcome', 'background'],
  );
  const loadCells = new Map<string, ReturnType<typeof loadDuration.cell>>();
  const loadCell = (outcome: string, background: boolean) => {
    const key = `${outcome}:${background}`;
    let cell = loadCells.get(key);
    if (cell === undefined) {
      cell = loadDuration.cell(scope.labels({ outcome, background: String(background) }));
      loadCells.set(key, cell);
    }
    return cell;
  };
  const errors = scope.counter(
    'cache_errors_total',
    'Cache failures, by kind (loader, store, bus, lock).',
    ['kind'],
  );
  const loaderErrors = errors.series({ kind: 'loader' });
  const storeErrors = errors.series({ kind: 'store' });
  const busErrors = errors.series({ kind: 'bus' });
  const lockErrors = errors.series({ kind: 'lock' });
  const kinds = cellsBy(
    scope.counter(
      'cache_events_total',
      'Cache events, by kind: fallback, recovered, flush_gap, flush_reconnect, invalidated_<scope>_<source>.',
      ['kind'],
    ),
  );
  const flushedEntries = scope.counter(
    'cache_flushed_entries_total',
    'L1 entries dropped by flushes after a bus gap or reconnect.',
  );
  const flushedCell = flushedEntries.series();
  const downtime = scope.histogram(
    'cache_store_down_seconds',
    'How long a cache bypassed its failing L2 store, seconds.',
  );
  const downCell = downtime.cell(scope.base);
  return subscribe(events, {
    hit: (e) => {
      const layer = cells[e.layer];
      if (layer === undefined) return;
      layer.hit.value++;
      if (e.negative) negativeCells[e.layer].value++;
    },
    miss: (e) => {
      const layer = cells[e.layer];
      if (layer !== undefined) layer.miss.value++;
    },
    stale: (e) => {
      stale(`${e.layer}:${e.reason}`, () => ({ layer: e.layer, reason: e.reason })).value++;
    },
    load: (e) => {
      loadDuration.observe(loadCell(e.outcome, e.background), e.durationMs / 1000);
    },
    error: () => {
      loaderErrors.value++;
    },
    storeError: () => {
      storeErrors.value++;
    },
    busError: () => {
      busErrors.value++;
    },
    lockFallback: () => {
      lockErrors.value++;
    },
    fallback: () => {
      kinds('fallback', () => ({ kind: 'fallback' })).value++;
    },
    recovered: (e) => {
      kinds('recovered', () => ({ kind: 'recovered' })).value++;
      downtime.observe(downCell, e.downMs / 1000);
    },
    flushed: (e) => {
      const kind = `flush_${e.reason}`;
      kinds(kind, () => ({ kind })).value++;
      flushedCell.value += e.entries;
    },
    invalidated: (e) => {
      const kind = `invalidated_${e.scope}_${e.source}`;
      kinds(kind, () => ({ kind })).value++;
    },
  });
}

/** @internal The ranking job events the mapping reads. */
export type RankingEventsRead = {
  computed: { durationMs: number };
  failed: { stage: string; durationMs: number };
  skipped: { reason: string };
  fallback: unknown;
};

/** @internal Map a ranking job's events to `<prefix>ranking_*`. */
export function watchRanking(scope: Scope, events: EventSource<RankingEventsRead>): () => void {
  const runs = cellsBy(
    scope.counter(
      'ranking_runs_total',
      'Ranking job periods on this instance, by outcome (computed, failed_compute, failed_store, skipped_follower, skipped_overlap).',
      ['outcome'],
    ),
  );
  const duration = scope.histogram(
    'ranking_duration_seconds',
    'Duration of ranking computations (compute and store), seconds, by outcome (computed, failed).',
    ['outcome'],
  );
  const ok = duration.cell(scope.labels({ outcome: 'computed' }));
  const failed = duration.cell(scope.labels({ outcome: 'failed' }));
  const fallbacks = scope
    .counter('ranking_fallbacks_total', "Ranking reads answered from the instance's last copy.")
    .series();
  return subscribe(events, {
    computed: (e) => {
      runs('computed', () => ({ outcome: 'computed' })).value++;
      duration.observe(ok, e.durationMs / 1000);
    },
    failed: (e) => {
      const outcome = `failed_${e.stage}`;
      runs(outcome, () => ({ outcome })).value++;
      duration.observe(failed, e.durationMs / 1000);
    },
    skipped: (e) => {
      const outcome = `skipped_${e.reason}`;
      runs(outcome, () => ({ outcome })).value++;
    },
    fallback: () => {
      fallbacks.value++;
    },
  });
}

/** @internal The counters events the mapping reads. */
export type CounterEventsRead = {
  miss: unknown;
  error: { op: string };
};

/** @internal Map counters' events to `<prefix>counters_*`. */
export function watchCounters(scope: Scope, events: EventSource<CounterEventsRead>): () => void {
  const misses = scope
    .counter('counters_misses_total', 'Counter increments that found the hash not loaded.')
    .series();
  const errors = cellsBy(
    scope.counter('counters_errors_total', 'Counter backend failures, by operation.', ['op']),
  );
  return subscribe(events, {
    miss: () => {
      misses.value++;
    },
    error: (e) => {
      errors(e.op, () => ({ op: e.op })).value++;
    },
  });
}
