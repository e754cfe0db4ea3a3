import type { EventSource } from '../core/index.js';

/**
 * Why this instance stopped leading.
 * - `lost`: the leadership lease was lost or could not be renewed in time;
 * - `handover`: a load-aware leader stepped down for a less loaded peer;
 * - `closed`: `close()` was called.
 */
export type DemotionReason = 'lost' | 'handover' | 'closed';

/**
 * Events of an {@link Election}. Durations are in milliseconds.
 *
 * @example
 * ```ts
 * election.events.on('elected', ({ name, waitedMs }) => log.info({ name, waitedMs }, 'leading'));
 * election.events.on('demoted', ({ reason, ledMs }) => log.warn({ reason, ledMs }, 'no longer leading'));
 * ```
 */
export type ElectionEvents = {
  /** This instance became leader. */
  elected: {
    /** The election's name. */
    name: string;
    /** The new leadership's term; increases with every new leadership. */
    term: number;
    /** How long this instance campaigned before winning. */
    waitedMs: number;
  };
  /** This instance stopped leading. */
  demoted: {
    /** The election's name. */
    name: string;
    /** The term that ended. */
    term: number;
    /** Why it ended. */
    reason: DemotionReason;
    /** How long the leadership lasted. */
    ledMs: number;
  };
  /** A backend call failed; the election keeps campaigning. */
  error: {
    /** The election's name. */
    name: string;
    /** What the backend (or `load()`) threw. */
    error: unknown;
  };
};

/**
 * Options of {@link Election.run}.
 *
 * @example
 * ```ts
 * await election.run(work, { signal: AbortSignal.timeout(60_000) });
 * ```
 */
export interface RunOptions {
  /** Stop waiting for leadership (rejects with `AbortedError`) and abort `fn`'s signal. */
  signal?: AbortSignal;
}

/**
 * One instance's view of a leader election: whether it leads now, events when that
 * changes, and `run` for work that must only happen on the leader. Created by
 * `leaderElection` (any lock) or `loadAwareElection` (Redis, prefers the least loaded
 * instance). At most one leader at a time is as strong as the lease underneath: a
 * paused leader may act after its lease expired, so pass `term` to fenced resources.
 *
 * @example
 * ```ts
 * const election = leaderElection({ locker, name: 'billing' });
 * await election.run(async (signal) => {
 *   while (!signal.aborted) await settleInvoices({ signal });
 * });
 * ```
 */
export interface Election extends AsyncDisposable {
  /** The election's name (instances with the same name compete). */
  readonly name: string;
  /** True while this instance leads. */
  readonly isLeader: boolean;
  /**
   * The current leadership's term (the lock's fence): strictly increases with each new
   * leadership; undefined when not leading. Hand it to fenced writes.
   */
  readonly term: number | undefined;
  /** Aborts when the current leadership ends; an aborted signal when not leading. */
  readonly signal: AbortSignal;
  /** Typed events: elected, demoted, error. */
  readonly events: EventSource<ElectionEvents>;
  /**
   * Wait until this instance leads, then run `fn` with a signal that aborts when the
   * leadership ends (its reason is a `JobLostError` with reason `demoted`). Resolves with
   * `fn`'s result.
   */
  run<T>(
    fn: (signal: AbortSignal) => T | PromiseLike<T>,
    options?: RunOptions,
  ): Promise<Awaited<T>>;
  /** Stop campaigning and step down if leading. */
  close(): Promise<void>;
}
