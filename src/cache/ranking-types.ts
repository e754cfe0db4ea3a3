// The public types of rankingJob: its options, events, the job interface and its errors.
import { type Clock, type EventSource, GirderError } from '../core/index.js';
import type { Election } from '../jobs/index.js';

/**
 * The part of a cache {@link rankingJob} uses: `get` (L1, then L2) and `set` (every
 * layer, with a TTL). A `cache()` from `girder/cache` fits as is.
 *
 * @example
 * ```ts
 * import { cache, type RankingCache, redisCacheStore } from 'girder/cache';
 *
 * const rankings: RankingCache<Product[]> = cache({ l2: redisCacheStore(redis), ttlMs: 60_000 });
 * ```
 */
export interface RankingCache<R> {
  /** The fresh value, or `undefined`. */
  get(key: string): Promise<R | undefined>;
  /** Store `value` in every layer for `ttlMs`. */
  set(key: string, value: R, options: { ttlMs: number }): Promise<void>;
}

/**
 * What `compute` receives.
 *
 * @example
 * ```ts
 * const compute = ({ signal }: RankingContext) => topN(products(signal), { n: 10, score, signal });
 * ```
 */
export interface RankingContext {
  /** Aborts when the job closes or the run passes `timeoutMs`. */
  signal: AbortSignal;
}

/**
 * Options of {@link rankingJob}.
 *
 * @example
 * ```ts
 * import type { RankingJobOptions } from 'girder/cache';
 *
 * const options: RankingJobOptions<string[]> = {
 *   name: 'popular',
 *   compute: async () => ['p1', 'p2'],
 *   cache: rankings,
 *   everyMs: 60_000,
 *   election,
 * };
 * ```
 */
export interface RankingJobOptions<R> {
  /** The job's name (events, default key). */
  name: string;
  /** Computes the ranking (typically with `topN`); runs on the leader only. */
  compute: (context: RankingContext) => Promise<R> | R;
  /** Where the ranking is stored and read. */
  cache: RankingCache<R>;
  /** Period between two computations, ms (100 ms to 7 days). */
  everyMs: number;
  /**
   * Which instance computes: a `girder/jobs` election (`leaderElection`,
   * `loadAwareElection`). Only its leader runs `compute`; the others read.
   */
  election: Election;
  /** Cache key of the ranking. Default `ranking:<name>`. */
  key?: string;
  /**
   * TTL of the stored ranking, ms; must be longer than `everyMs`, so a missed or slow
   * period leaves the previous ranking in place. Default 3 x `everyMs`.
   */
  ttlMs?: number;
  /** A run longer than this is aborted (and counted as failed), ms. Default `everyMs`. */
  timeoutMs?: number;
  /**
   * Compute at once when this instance becomes the leader (at start-up and after a
   * failover), instead of waiting for the next period. Default true.
   */
  runOnElected?: boolean;
  /** Time source. Default `systemClock`. */
  clock?: Clock;
}

/**
 * Events of a {@link RankingJob}.
 *
 * @example
 * ```ts
 * job.events.on('computed', ({ durationMs }) => console.log(`ranking took ${durationMs} ms`));
 * job.events.on('failed', ({ error }) => console.warn('ranking failed; the last one stays', error));
 * ```
 */
export type RankingJobEvents = {
  /** This instance computed and stored the ranking. */
  computed: {
    /** The job's name. */
    name: string;
    /** How long `compute` plus the store took, ms. */
    durationMs: number;
  };
  /** A run failed (compute threw or timed out, or the store failed); the previous ranking stays. */
  failed: {
    /** The job's name. */
    name: string;
    /** What failed: `compute` or `store`. */
    stage: 'compute' | 'store';
    /** The error. */
    error: unknown;
    /** How long the run took, ms. */
    durationMs: number;
  };
  /** A period passed without a run on this instance. */
  skipped: {
    /** The job's name. */
    name: string;
    /** `follower` (another instance leads) or `overlap` (the previous run still runs). */
    reason: 'follower' | 'overlap';
  };
  /** `get` found nothing in the cache (or the cache failed) and answered this instance's last copy. */
  fallback: {
    /** The job's name. */
    name: string;
    /** The cache's error, when it threw. */
    error?: unknown;
  };
};

/**
 * A ranking kept fresh by one instance: see {@link rankingJob}.
 *
 * @example
 * ```ts
 * app.get('/api/popular', async () => (await popular.get()) ?? []);
 * ```
 */
export interface RankingJob<R> extends AsyncDisposable {
  /** The job's name. */
  readonly name: string;
  /** The cache key the ranking is stored under. */
  readonly key: string;
  /** Typed events. */
  readonly events: EventSource<RankingJobEvents>;
  /**
   * The current ranking: from the cache (L1, then L2); when the cache has none or fails,
   * the last ranking this instance saw or computed; `undefined` before any was computed.
   */
  get(): Promise<R | undefined>;
  /**
   * Compute and store the ranking now, on this instance, whoever leads (an admin's
   * "recompute" button); a run already going on this instance is joined instead.
   * Rejects with the compute or store error.
   */
  refresh(signal?: AbortSignal): Promise<R>;
  /** Stop the timer and abort a running computation. */
  close(): Promise<void>;
}

/**
 * Thrown by `refresh` after `close()`, and set as the abort reason of a run cut short
 * (code `RANKING_CLOSED`).
 *
 * @example
 * ```ts
 * import { RankingClosedError } from 'girder/cache';
 *
 * await job.close();
 * await job.refresh().catch((e) => e instanceof RankingClosedError); // true
 * ```
 */
export class RankingClosedError extends GirderError {
  constructor(name: string) {
    super('RANKING_CLOSED', `ranking job ${name} was closed`);
  }
}

/**
 * A run of {@link rankingJob} passed its `timeoutMs` (code `RANKING_TIMEOUT`).
 *
 * @example
 * ```ts
 * job.events.on('failed', ({ error }) => {
 *   if (error instanceof RankingTimeoutError) console.warn(`slower than ${error.timeoutMs} ms`);
 * });
 * ```
 */
export class RankingTimeoutError extends GirderError {
  /** The limit that passed, ms. */
  readonly timeoutMs: number;

  constructor(name: string, timeoutMs: number) {
    super('RANKING_TIMEOUT', `ranking job ${name} ran longer than ${timeoutMs} ms`);
    this.timeoutMs = timeoutMs;
  }
}
