// The outbox's public shapes: options, events and the Outbox interface.
import type { Kysely } from 'kysely';
import type { Backoff, Clock, EventSource } from '../core/index.js';
import type { Election } from '../jobs/index.js';
import type { OutgoingMessage, Producer } from './types.js';

/**
 * Options of {@link outbox}.
 *
 * @example
 * ```ts
 * const options: OutboxOptions = { producer: queue.producer, pollMs: 200, batchSize: 500, election };
 * ```
 */
export interface OutboxOptions {
  /** Where the relay publishes. */
  producer: Producer;
  /** The table made by `createOutboxTable` (optionally `schema.table`). Default `girder_outbox`. */
  table?: string;
  /** How long the relay waits before looking again once the table is drained, ms. Default 1 000. */
  pollMs?: number;
  /** Rows read and published per round (1 to 10 000). Default 100. */
  batchSize?: number;
  /**
   * Relay only while this instance leads (`leaderElection` from girder/jobs): the relay
   * loop runs inside `election.run`, so one instance publishes at a time and order is
   * kept. Without it, every started instance relays (rows are still published once per
   * round thanks to row locks, but two relays may interleave keys). The election stays
   * yours: `close()` does not close it.
   */
  election?: Election;
  /**
   * How a round reads its rows:
   * - `skip-locked`: in a transaction, `SELECT ... FOR UPDATE SKIP LOCKED`, held until the
   *   rows are marked, so two relays never publish the same rows in one round (PostgreSQL,
   *   PGlite, MySQL 8). A relay that finds older rows locked by another waits for it, so
   *   order holds even then;
   * - `none`: plain reads, for dialects without row locks; rely on a single leader.
   * Default `skip-locked`.
   */
  lock?: 'skip-locked' | 'none';
  /** What happens to a published row: `mark` (status `sent`, kept for `purge`) or `delete`. Default `mark`. */
  onPublished?: 'mark' | 'delete';
  /** Delay before the relay retries after a failed round. Default exponential from 100 ms to 30 s, full jitter. */
  retry?: Backoff;
  /** Time source of polling, backoff, durations and the `created_at` / `sent_at` columns. Default `systemClock`. */
  clock?: Clock;
  /** A name for logs and metrics. Default `outbox`. */
  name?: string;
}

/**
 * Events of an {@link Outbox}. Durations are in milliseconds.
 *
 * @example
 * ```ts
 * box.events.on('published', ({ count, durationMs }) => log.info({ count, durationMs }, 'relayed'));
 * box.events.on('failed', ({ error, attempt, delayMs }) => log.warn({ error, attempt, delayMs }, 'relay failed'));
 * ```
 */
export type OutboxEvents = {
  /** Rows were inserted by `add` (in the caller's transaction: they count only once it commits). */
  added: {
    /** The outbox's name. */
    name: string;
    /** The topic. */
    topic: string;
    /** Rows inserted. */
    count: number;
  };
  /** A relay round published and marked rows. */
  published: {
    /** The outbox's name. */
    name: string;
    /** Rows published. */
    count: number;
    /** Time of the round: read, publish and mark. */
    durationMs: number;
  };
  /** A relay round failed (publish or database); it is retried after `delayMs`. */
  failed: {
    /** The outbox's name. */
    name: string;
    /** What was thrown. */
    error: unknown;
    /** Consecutive failed rounds, this one included. */
    attempt: number;
    /** Delay before the next round. */
    delayMs: number;
  };
};

/**
 * The transactional outbox ("local message table"): rows written with the business
 * transaction, published afterwards by a relay.
 *
 * @example
 * ```ts
 * await db.transaction().execute(async (trx) => {
 *   await trx.insertInto('payments').values(payment).execute();
 *   await box.add(trx, 'payments', { key: payment.orderId, value: JSON.stringify(payment) });
 * });
 * ```
 */
export interface Outbox extends AsyncDisposable {
  /** The name given in the options. */
  readonly name: string;
  /**
   * Insert `message` (or several, in order) for `topic` through `trx`, your business
   * transaction: the rows exist exactly when your transaction commits.
   */
  add(
    // biome-ignore lint/suspicious/noExplicitAny: any user database type.
    trx: Kysely<any>,
    topic: string,
    message: OutgoingMessage | readonly OutgoingMessage[],
  ): Promise<void>;
  /** Start the relay loop in the background (as leader only, with `election`). Idempotent. */
  start(): void;
  /** Publish one round now (up to `batchSize` rows); resolves with how many were published. Rejects on failure. */
  relayOnce(): Promise<number>;
  /** Rows not yet published (for the backlog gauge). */
  pending(): Promise<number>;
  /** Delete rows published more than `olderThanMs` ago (with `onPublished: 'mark'`); resolves with how many. */
  purge(olderThanMs: number): Promise<number>;
  /** Typed events: added, published, failed. */
  readonly events: EventSource<OutboxEvents>;
  /** Stop the relay (a round in progress finishes first). The database and the election stay yours. */
  close(): Promise<void>;
}
