// A ranking (top-N, leaderboard, "popular" page) recomputed on one instance every
// period and stored in a two-level cache, so every instance reads it from memory.
import { z } from 'zod';
import {
  type Clock,
  checkSignal,
  clockSchema,
  functionSchema,
  parseOptions,
  systemClock,
  TypedEmitter,
} from '../core/index.js';
import { type Election, type ScheduledJob, scheduledJob } from '../jobs/index.js';
import {
  type RankingCache,
  RankingClosedError,
  type RankingContext,
  type RankingJob,
  type RankingJobEvents,
  type RankingJobOptions,
  RankingTimeoutError,
} from './ranking-types.js';

const MAX_PERIOD_MS = 7 * 86_400_000;

const schema = z
  .strictObject({
    name: z.string().min(1),
    compute: functionSchema<(context: RankingContext) => unknown>(),
    cache: z.custom<RankingCache<unknown>>(
      (v) =>
        v !== null &&
        typeof v === 'object' &&
        typeof (v as RankingCache<unknown>).get === 'function' &&
        typeof (v as RankingCache<unknown>).set === 'function',
      { message: 'must be a cache with get() and set()' },
    ),
    everyMs: z.number().int().min(100).max(MAX_PERIOD_MS),
    election: z.custom<Election>(
      (v) =>
        v !== null &&
        typeof v === 'object' &&
        'isLeader' in v &&
        typeof (v as Election).run === 'function' &&
        typeof (v as Election).events?.on === 'function',
      { message: 'must be a girder/jobs election (leaderElection, loadAwareElection)' },
    ),
    key: z.string().min(1).optional(),
    ttlMs: z
      .number()
      .int()
      .min(1)
      .max(4 * MAX_PERIOD_MS)
      .optional(),
    timeoutMs: z.number().int().min(1).max(MAX_PERIOD_MS).optional(),
    runOnElected: z.boolean().default(true),
    clock: clockSchema.default(systemClock),
  })
  .refine((o) => o.ttlMs === undefined || o.ttlMs > o.everyMs, {
    message: 'must be longer than everyMs (the ranking must outlive a period)',
    path: ['ttlMs'],
  });

type Parsed = z.output<typeof schema>;

class Ranking<R> implements RankingJob<R> {
  readonly name: string;
  readonly key: string;
  readonly events = new TypedEmitter<RankingJobEvents>();
  readonly #compute: (context: RankingContext) => Promise<R> | R;
  readonly #cache: RankingCache<R>;
  readonly #ttlMs: number;
  readonly #timeoutMs: number;
  readonly #clock: Clock;
  readonly #closing = new AbortController();
  /** The periods: girder/jobs runs them on the election's leader only. */
  readonly #job: ScheduledJob;
  readonly #offs: (() => void)[] = [];
  #running: Promise<R> | undefined;
  /** The last ranking this instance saw or computed: what `get` answers when the cache cannot. */
  #last: { value: R } | undefined;

  constructor(options: Parsed) {
    this.name = options.name;
    this.key = options.key ?? `ranking:${options.name}`;
    this.#compute = options.compute as (context: RankingContext) => Promise<R> | R;
    this.#cache = options.cache as RankingCache<R>;
    this.#ttlMs = options.ttlMs ?? 3 * options.everyMs;
    this.#timeoutMs = options.timeoutMs ?? options.everyMs;
    this.#clock = options.clock;
    const election = options.election;
    // Failures are reported (and retried) per period by this job itself: a failed run
    // waits for the next period rather than hammering the database with retries.
    this.#job = scheduledJob({
      name: options.name,
      everyMs: options.everyMs,
      election,
      retry: false,
      clock: options.clock,
      run: (signal) => {
        // A run started outside the schedule (refresh, election) is still going.
        if (this.#running !== undefined) {
          this.events.emit('skipped', { name: this.name, reason: 'overlap' });
          return undefined;
        }
        return this.#run(signal);
      },
    });
    this.#offs.push(
      this.#job.events.on('skipped', ({ reason }) => {
        this.events.emit('skipped', {
          name: this.name,
          reason: reason === 'overlap' ? 'overlap' : 'follower',
        });
      }),
    );
    if (options.runOnElected) {
      const runNow = () => {
        if (this.#running === undefined && !this.#closing.signal.aborted) {
          this.#run(election.signal).catch(() => {}); // reported through `failed`
        }
      };
      this.#offs.push(election.events.on('elected', runNow));
      if (election.isLeader) this.#clock.setTimeout(runNow, 0);
    }
    this.#job.start().catch(() => {}); // an interval schedule cannot fail to resolve
  }

  /** One computation and store; `#running` while it lasts. */
  #run(signal: AbortSignal | undefined): Promise<R> {
    const started = this.#clock.now();
    const controller = new AbortController();
    const onAbort = (reason: unknown) => {
      if (!controller.signal.aborted) controller.abort(reason);
    };
    const stopClosing = () => onAbort(new RankingClosedError(this.name));
    this.#closing.signal.addEventListener('abort', stopClosing);
    const stopCaller = () => onAbort(signal?.reason);
    signal?.addEventListener('abort', stopCaller);
    const timer = this.#clock.setTimeout(
      () => onAbort(new RankingTimeoutError(this.name, this.#timeoutMs)),
      this.#timeoutMs,
    );
    let stage: 'compute' | 'store' = 'compute';
    const aborted = new Promise<never>((_, reject) => {
      controller.signal.addEventListener('abort', () => reject(controller.signal.reason));
    });
    aborted.catch(() => {});
    const work = (async () => {
      const value = await Promise.race([
        Promise.resolve().then(() => this.#compute({ signal: controller.signal })),
        aborted,
      ]);
      stage = 'store';
      this.#last = { value };
      await Promise.race([this.#cache.set(this.key, value, { ttlMs: this.#ttlMs }), aborted]);
      return value;
    })();
    const running = work.then(
      (value) => {
        this.events.emit('computed', { name: this.name, durationMs: this.#clock.now() - started });
        return value;
      },
      (error: unknown) => {
        const durationMs = this.#clock.now() - started;
        this.events.emit('failed', { name: this.name, stage, error, durationMs });
        throw error;
      },
    );
    this.#running = running;
    const done = () => {
      this.#clock.clearTimeout(timer);
      this.#closing.signal.removeEventListener('abort', stopClosing);
      signal?.removeEventListener('abort', stopCaller);
      if (this.#running === running) this.#running = undefined;
    };
    running.then(done, done);
    return running;
  }

  async get(): Promise<R | undefined> {
    let error: unknown;
    try {
      const value = await this.#cache.get(this.key);
      if (value !== undefined) {
        this.#last = { value };
        return value;
      }
    } catch (caught) {
      error = caught;
    }
    if (this.#last === undefined) return undefined;
    this.events.emit(
      'fallback',
      error === undefined ? { name: this.name } : { name: this.name, error },
    );
    return this.#last.value;
  }

  async refresh(signal?: AbortSignal): Promise<R> {
    checkSignal(signal);
    if (this.#closing.signal.aborted) throw new RankingClosedError(this.name);
    if (signal?.aborted) throw signal.reason;
    return this.#running ?? this.#run(signal);
  }

  async close(): Promise<void> {
    if (this.#closing.signal.aborted) return;
    this.#closing.abort(new RankingClosedError(this.name));
    for (const off of this.#offs) off();
    await this.#job.close();
    await this.#running?.catch(() => {});
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/**
 * Keep a costly ranking (a top-N over a large table, say) fresh without every instance
 * computing it: a `girder/jobs` `scheduledJob` runs `compute` every `everyMs` on the
 * instance that leads `election` (and, by default, at once when an instance becomes the
 * leader), and the result goes to `cache` with a TTL longer than the period; every instance's `get`
 * answers from its L1 (one L2 read after each change, when the cache's bus invalidated
 * it). Readers never compute. When Redis is down, `get` still answers: from L1 while its
 * copy lives, then from the last ranking this instance saw. A failed run leaves the
 * previous ranking in place (it outlives a period) and is tried again next period.
 *
 * @throws InvalidOptionsError for unknown or out-of-range options (`ttlMs` not longer
 *   than `everyMs`, a `cache` without get/set...).
 *
 * @example
 * ```ts
 * import { cache, rankingJob, redisBus, redisCacheStore, topN } from 'girder/cache';
 * import { leaderElection } from 'girder/jobs';
 * import { redisLock } from 'girder/lock';
 *
 * const popular = rankingJob({
 *   name: 'popular',
 *   cache: cache({ l2: redisCacheStore(redis), bus: redisBus(redis), ttlMs: 60_000 }),
 *   election: leaderElection({ locker: redisLock(redis), name: 'rankings' }),
 *   everyMs: 60_000,
 *   compute: ({ signal }) => topN(productsById, { n: 20, score: (p) => p.sold, signal }),
 * });
 * app.get('/api/popular', async () => (await popular.get()) ?? []);
 * ```
 */
export function rankingJob<R>(options: RankingJobOptions<R>): RankingJob<R> {
  return new Ranking<R>(parseOptions('rankingJob', schema, options));
}
