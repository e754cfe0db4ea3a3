import type { Etcd3, Namespace } from 'etcd3';
import { z } from 'zod';
import {
  type Clock,
  clockSchema,
  parseOptions,
  systemClock,
  type TimerHandle,
} from '../core/index.js';
import { etcdLock, type Lock, type Locker } from '../lock/index.js';
import type { Election, RunOptions } from './election-types.js';
import { Leadership } from './leadership.js';

/**
 * Options of {@link leaderElection}.
 *
 * @example
 * ```ts
 * const election = leaderElection({ locker: redisLock(redis), name: 'billing', ttlMs: 10_000, pollMs: 1_000 });
 * ```
 */
export interface LeaderElectionOptions {
  /**
   * The lock backend (memoryLock, redisLock, etcdLock...). Leadership is the lock
   * `leader:<name>`. Give exactly one of `locker` and `etcd`.
   */
  locker?: Locker;
  /**
   * An etcd3 client (or namespace): the election builds an `etcdLock` on it (keys under
   * `girder/leader`) and closes that locker on `close()`; the client stays yours.
   */
  etcd?: Etcd3 | Namespace;
  /** The election's name; instances using the same locker and name compete. */
  name: string;
  /** TTL of the leadership lock; the lock's watchdog renews it. Default 10 000 ms. */
  ttlMs?: number;
  /** How often a follower tries to take the lock. Failover takes at most `ttlMs + pollMs`. Default 1 000 ms. */
  pollMs?: number;
  /** Time source for polling and durations (give the locker the same clock). Default `systemClock`. */
  clock?: Clock;
}

const MAX_MS = 2 ** 31 - 1;
const lockerSchema = z.custom<Locker>(
  (v) =>
    typeof v === 'object' &&
    v !== null &&
    typeof (v as Locker).tryAcquire === 'function' &&
    typeof (v as Locker).acquire === 'function',
  { message: 'must be a Locker (memoryLock, redisLock, etcdLock)' },
);

/** @internal Shared by leaderElection and its etcd variant. */
export const leaderSchema = z
  .strictObject({
    locker: lockerSchema.optional(),
    etcd: z
      .custom<Etcd3 | Namespace>((v) => typeof v === 'object' && v !== null, {
        message: 'must be an etcd3 client or namespace',
      })
      .optional(),
    name: z.string().min(1).max(200),
    ttlMs: z.number().int().min(10).max(MAX_MS).default(10_000),
    pollMs: z.number().int().min(1).max(MAX_MS).default(1_000),
    clock: clockSchema.default(systemClock),
  })
  .refine((o) => (o.locker === undefined) !== (o.etcd === undefined), {
    message: 'give exactly one of locker and etcd',
    path: ['locker'],
  });

/**
 * Leader election on any {@link Locker}: the leader is whoever holds the lock
 * `leader:<name>`; the lock's watchdog keeps it, its signal demotes the leader the moment
 * the lock is lost (or may be), and followers retry every `pollMs`. A crashed leader is
 * replaced within `ttlMs + pollMs`. The guarantee is the lock's: use `term` (the lock's
 * fence) with fenced writes for side effects that must never come from two leaders.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import { redisLock } from 'girder/lock';
 * import { leaderElection } from 'girder/jobs';
 *
 * // or leaderElection({ etcd: new Etcd3(), name: 'order-expiry' })
 * const election = leaderElection({ locker: redisLock(new Redis()), name: 'order-expiry' });
 * election.events.on('elected', ({ term }) => console.log('leading, term', term));
 * await election.run(async (signal) => {
 *   while (!signal.aborted) await expireOrders({ signal });
 * });
 * ```
 */
export function leaderElection(options: LeaderElectionOptions): Election {
  const opts = parseOptions('leaderElection', leaderSchema, options);
  if (opts.locker !== undefined) return lockElection(opts.locker, opts);
  const locker = etcdLock(opts.etcd as Etcd3, {
    name: `leader:${opts.name}`,
    prefix: 'girder/leader',
    ttlMs: opts.ttlMs,
    clock: opts.clock,
  });
  return lockElection(locker, opts, () => locker.close());
}

/** @internal */
export function lockElection(
  locker: Locker,
  opts: { name: string; ttlMs: number; pollMs: number; clock: Clock },
  onClose?: () => Promise<void>,
): Election {
  const { name, ttlMs, pollMs, clock } = opts;
  const key = `leader:${name}`;
  const state = new Leadership(name, clock);
  let lock: Lock | undefined;
  let timer: TimerHandle | undefined;
  let closed = false;
  let attempt: Promise<void> | undefined;

  const schedule = (ms: number) => {
    if (!closed) timer = clock.setTimeout(campaign, ms);
  };

  const onLost = () => {
    lock = undefined;
    state.demote('lost');
    schedule(pollMs);
  };

  function campaign() {
    timer = undefined;
    attempt = (async () => {
      try {
        const got = await locker.tryAcquire(key, { ttlMs });
        if (got === undefined) return schedule(pollMs);
        if (closed) {
          await got.release().catch(() => false);
          return;
        }
        lock = got;
        state.elect(got.fence);
        if (got.signal.aborted) onLost();
        else got.signal.addEventListener('abort', onLost, { once: true });
      } catch (error) {
        state.error(error);
        schedule(pollMs);
      }
    })();
  }

  campaign();

  const close = async () => {
    if (closed) return;
    closed = true;
    if (timer !== undefined) clock.clearTimeout(timer);
    await attempt;
    const held = lock;
    lock = undefined;
    if (held !== undefined) {
      held.signal.removeEventListener('abort', onLost);
      state.demote('closed');
      await held.release().catch((error: unknown) => state.error(error));
    }
    state.rejectWaiters();
    await onClose?.();
  };

  return {
    name,
    get isLeader() {
      return state.isLeader;
    },
    get term() {
      return state.term;
    },
    get signal() {
      return state.signal;
    },
    events: state.events,
    run<T>(fn: (signal: AbortSignal) => T | PromiseLike<T>, runOptions?: RunOptions) {
      return state.run(fn, runOptions, () => closed);
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** @internal Guard shared by callers that accept an `Election`. */
export function isElection(value: unknown): value is Election {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Election).run === 'function' &&
    'isLeader' in value
  );
}
