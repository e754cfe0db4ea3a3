import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { z } from 'zod';
import {
  type Clock,
  checkRedisClient,
  clockSchema,
  type EventSource,
  functionSchema,
  InvalidArgumentError,
  parseOptions,
  type RedisClient,
  redisKey,
  redisPrefixSchema,
  redisRunner,
  systemClock,
  type TimerHandle,
  TypedEmitter,
} from '../core/index.js';
import type { Election, ElectionEvents, RunOptions } from './election-types.js';
import { Leadership } from './leadership.js';
import { LEAVE, TICK } from './load-aware-scripts.js';

/**
 * Options of {@link loadAwareElection}.
 *
 * @example
 * ```ts
 * const options: LoadAwareElectionOptions = {
 *   name: 'hot-list',
 *   load: () => cpuPercent(),
 *   ttlMs: 10_000,
 *   tolerance: 10,
 *   handoverMargin: 25,
 *   sustainMs: 30_000,
 * };
 * ```
 */
export interface LoadAwareElectionOptions {
  /** The election's name; instances with the same prefix and name compete. */
  name: string;
  /** This instance's load, 0 (idle) to 100 (saturated); read once per publish period. */
  load: () => number | PromiseLike<number>;
  /** Key prefix (no braces). Default `girder:election`. */
  prefix?: string;
  /** Lifetime of a published load and of the leader's lease without renewal. Default 10 000 ms. */
  ttlMs?: number;
  /** How often the load is published (and the lease renewed); below `ttlMs / 2`. Default `ttlMs / 4`. */
  publishEveryMs?: number;
  /** A follower competes only when its load is at most the lowest published load plus this. Default 10. */
  tolerance?: number;
  /**
   * A leader steps down when its load stays above the best peer's by more than this for
   * `sustainMs`. At least `tolerance`, so a leader that stepped down does not compete again
   * at once (no flapping). Default 20.
   */
  handoverMargin?: number;
  /** How long the leader's excess load must last before it steps down. Default 30 000 ms. */
  sustainMs?: number;
  /**
   * Do not compete during this long after start, so that the peers' loads are known
   * before anyone is chosen. Default `publishEveryMs`.
   */
  warmupMs?: number;
  /** Subtracted from the lease when deciding locally that leadership may be lost. Default 100 ms. */
  marginMs?: number;
  /** This instance's id in Redis. Default `<hostname>:<pid>:<random>`. */
  instanceId?: string;
  /** Deadline of one Redis round trip. Default 1 000 ms. */
  commandTimeoutMs?: number;
  /** Time source for timers and durations. Default `systemClock`. */
  clock?: Clock;
}

/**
 * Events of a {@link LoadAwareElection}: those of every election plus one per publish.
 *
 * @example
 * ```ts
 * election.events.on('published', ({ load, bestPeerLoad, leading }) => gauge.set(load));
 * ```
 */
export type LoadAwareElectionEvents = ElectionEvents & {
  /** This instance published its load. */
  published: {
    /** The election's name. */
    name: string;
    /** The load published. */
    load: number;
    /** The lowest load among the other live instances; undefined when there are none. */
    bestPeerLoad: number | undefined;
    /** Whether this instance leads after this publish. */
    leading: boolean;
  };
};

/**
 * A load-aware {@link Election} with the extra state it publishes.
 *
 * @example
 * ```ts
 * const election = loadAwareElection(redis, { name: 'hot-list', load: () => cpuPercent() });
 * console.log(election.load, election.isLeader);
 * ```
 */
export interface LoadAwareElection extends Election {
  /** This instance's id in Redis. */
  readonly instanceId: string;
  /** The load published last, undefined before the first publish. */
  readonly load: number | undefined;
  /** The lowest load among the other live instances at the last publish (undefined: none). */
  readonly bestPeerLoad: number | undefined;
  /** Typed events: elected, demoted, error, published. */
  readonly events: EventSource<LoadAwareElectionEvents>;
}

const MAX_MS = 2 ** 31 - 1;
const schema = z
  .strictObject({
    name: z.string().min(1).max(200),
    load: functionSchema<() => number | PromiseLike<number>>(),
    prefix: redisPrefixSchema('girder:election'),
    ttlMs: z.number().int().min(20).max(MAX_MS).default(10_000),
    publishEveryMs: z.number().int().min(1).max(MAX_MS).optional(),
    tolerance: z.number().finite().min(0).max(100).default(10),
    handoverMargin: z.number().finite().min(0).max(100).default(20),
    sustainMs: z.number().int().min(0).max(MAX_MS).default(30_000),
    warmupMs: z.number().int().min(0).max(MAX_MS).optional(),
    marginMs: z.number().int().min(0).max(MAX_MS).default(100),
    instanceId: z.string().min(1).max(200).optional(),
    commandTimeoutMs: z.number().int().min(0).max(MAX_MS).default(1_000),
    clock: clockSchema.default(systemClock),
  })
  .refine((o) => o.publishEveryMs === undefined || o.publishEveryMs * 2 <= o.ttlMs, {
    message: 'must be at most ttlMs / 2',
    path: ['publishEveryMs'],
  })
  .refine((o) => o.handoverMargin >= o.tolerance, {
    message: 'must be >= tolerance (else a leader that stepped down competes again at once)',
    path: ['handoverMargin'],
  })
  .refine((o) => o.marginMs < o.ttlMs - (o.publishEveryMs ?? Math.floor(o.ttlMs / 4)), {
    message: 'must be below ttlMs - publishEveryMs',
    path: ['marginMs'],
  });

/**
 * Leader election that prefers the least loaded instance, on Redis alone. Every
 * instance publishes its load (0–100, from `load()`) every `publishEveryMs` with a TTL;
 * when the lease is free, only instances within `tolerance` of the lowest published load
 * may take it (Redis `SET NX PX`, renewed by the holder's own publishes). A leader whose
 * load stays above the best peer's by more than `handoverMargin` for `sustainMs` steps
 * down, and cannot compete again until its load comes back near the lowest: the
 * hysteresis that keeps leadership from flapping. A dead leader's lease and load expire
 * after `ttlMs`; a peer takes over at its next publish.
 *
 * Same guarantee as any lease: a paused leader may act after its lease expired, so use
 * `term` with fenced writes for side effects that must never happen twice.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import { loadAwareElection } from 'girder/jobs';
 *
 * const election = loadAwareElection(new Redis(), {
 *   name: 'hot-list',
 *   load: () => Math.round(os.loadavg()[0] * 100 / os.cpus().length),
 * });
 * await election.run(async (signal) => {
 *   while (!signal.aborted) await rebuildHotList({ signal });
 * });
 * ```
 */
export function loadAwareElection(
  client: RedisClient,
  options: LoadAwareElectionOptions,
): LoadAwareElection {
  checkRedisClient(client);
  const opts = parseOptions('loadAwareElection', schema, options);
  const { name, ttlMs, tolerance, handoverMargin, sustainMs, marginMs, clock } = opts;
  const publishEveryMs = opts.publishEveryMs ?? Math.floor(ttlMs / 4);
  const warmupMs = opts.warmupMs ?? publishEveryMs;
  const instanceId =
    opts.instanceId ?? `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  const runner = redisRunner(client, {
    name: `election ${name}`,
    commandTimeoutMs: opts.commandTimeoutMs,
  });
  const keys = ['loads', 'expiry', 'leader', 'term'].map((s) => redisKey(opts.prefix, name, s));
  const events = new TypedEmitter<LoadAwareElectionEvents>();
  const state = new Leadership(name, clock, events as unknown as TypedEmitter<ElectionEvents>);
  const startedAt = clock.now();
  let load: number | undefined;
  let bestPeerLoad: number | undefined;
  let overSince: number | undefined;
  let timer: TimerHandle | undefined;
  let deadline: TimerHandle | undefined;
  let closed = false;
  let ticking: Promise<void> | undefined;

  const clearDeadline = () => {
    if (deadline !== undefined) clock.clearTimeout(deadline);
    deadline = undefined;
  };

  const readLoad = async (): Promise<number> => {
    const value = await opts.load();
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 100) {
      throw new InvalidArgumentError('load()', `must return a number from 0 to 100, got ${value}`);
    }
    return value;
  };

  const tickOnce = async () => {
    let current: number;
    try {
      current = await readLoad();
    } catch (error) {
      // No publish this period: our entry expires if load() keeps failing.
      state.error(error);
      return;
    }
    const sentAt = clock.now();
    const mayCampaign = sentAt - startedAt >= warmupMs;
    const resign = state.isLeader && overSince !== undefined && sentAt - overSince >= sustainMs;
    let reply: unknown[];
    try {
      reply = (await runner.eval(TICK, keys, [
        instanceId,
        current,
        ttlMs,
        tolerance,
        mayCampaign ? 1 : 0,
        resign ? 1 : 0,
      ])) as unknown[];
    } catch (error) {
      // The lease may still be ours: the local deadline decides.
      state.error(error);
      return;
    }
    if (closed) return;
    load = current;
    const peer = Number(reply[3]);
    bestPeerLoad = peer < 0 ? undefined : peer;
    if (Number(reply[0]) === 1) {
      state.elect(Number(reply[1]));
      clearDeadline();
      // Valid until ttl after the script ran, which was after we sent it.
      deadline = clock.setTimeout(
        () => {
          deadline = undefined;
          overSince = undefined;
          state.demote('lost');
        },
        Math.max(0, sentAt + ttlMs - marginMs - clock.now()),
      );
      const excess = bestPeerLoad !== undefined && current > bestPeerLoad + handoverMargin;
      if (!excess) overSince = undefined;
      else overSince ??= sentAt;
    } else {
      clearDeadline();
      overSince = undefined;
      state.demote(resign ? 'handover' : 'lost');
    }
    events.emit('published', { name, load: current, bestPeerLoad, leading: state.isLeader });
  };

  const tick = () => {
    timer = undefined;
    ticking = tickOnce().finally(() => {
      ticking = undefined;
      if (!closed) timer = clock.setTimeout(tick, publishEveryMs);
    });
  };
  tick();

  const close = async () => {
    if (closed) return;
    closed = true;
    if (timer !== undefined) clock.clearTimeout(timer);
    clearDeadline();
    await ticking;
    state.demote('closed');
    state.rejectWaiters();
    try {
      await runner.eval(LEAVE, keys.slice(0, 3), [instanceId]);
    } catch (error) {
      // The TTLs clean up after us.
      state.error(error);
    }
    runner.close();
  };

  return {
    name,
    instanceId,
    get load() {
      return load;
    },
    get bestPeerLoad() {
      return bestPeerLoad;
    },
    get isLeader() {
      return state.isLeader;
    },
    get term() {
      return state.term;
    },
    get signal() {
      return state.signal;
    },
    events,
    run<T>(fn: (signal: AbortSignal) => T | PromiseLike<T>, runOptions?: RunOptions) {
      return state.run(fn, runOptions, () => closed);
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
