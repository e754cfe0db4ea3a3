// The transactional outbox: `add` writes rows in the caller's transaction; the relay
// reads pending rows in id order, publishes them, then marks (or deletes) them. A crash
// anywhere between publish and mark leaves the rows pending, so they are published
// again: delivery is at least once, and never of a row whose transaction did not commit.
import { type Kysely, sql } from 'kysely';
import { z } from 'zod';
import {
  AbortedError,
  type Backoff,
  clockSchema,
  exponential,
  InvalidArgumentError,
  isGirderError,
  parseOptions,
  sleep,
  systemClock,
  TypedEmitter,
} from '../core/index.js';
import type { Election } from '../jobs/index.js';
import { kyselySchema } from './idem-sql.js';
import { type OutboxRow, outboxTableSchema, toMessage, toRows } from './outbox-table.js';
import type { Outbox, OutboxEvents, OutboxOptions } from './outbox-types.js';
import type { OutgoingMessage, Producer } from './types.js';

const MAX_MS = 2 ** 31 - 1;

const producerSchema = z.custom<Producer>(
  (v) => typeof v === 'object' && v !== null && typeof (v as Producer).send === 'function',
  { message: 'must be a Producer (an object with send(topic, messages))' },
);
const electionSchema = z.custom<Election>(
  (v) =>
    typeof v === 'object' &&
    v !== null &&
    typeof (v as Election).run === 'function' &&
    typeof (v as Election).isLeader === 'boolean',
  { message: 'must be an Election (leaderElection from girder/jobs)' },
);
const backoffSchema = z.custom<Backoff>(
  (v) => typeof v === 'object' && v !== null && typeof (v as Backoff).delayMs === 'function',
  { message: 'must be a Backoff (constant, exponential)' },
);

const schema = z.strictObject({
  producer: producerSchema,
  table: outboxTableSchema,
  pollMs: z.number().int().min(1).max(MAX_MS).default(1_000),
  batchSize: z.number().int().min(1).max(10_000).default(100),
  election: electionSchema.optional(),
  lock: z.enum(['skip-locked', 'none']).default('skip-locked'),
  onPublished: z.enum(['mark', 'delete']).default('mark'),
  retry: backoffSchema.optional(),
  clock: clockSchema.default(systemClock),
  name: z.string().min(1).max(200).default('outbox'),
});

// biome-ignore lint/suspicious/noExplicitAny: the caller's database type is unknown here.
type AnyDb = Kysely<any>;

const idOf = (row: OutboxRow) => BigInt(row.id);

/**
 * What one round of publishing achieved: the rows published (a prefix of the batch, in
 * order) and, if a send failed, its error (later rows were not attempted, which keeps
 * per-key order: nothing overtakes a row that failed).
 */
interface Published {
  sent: OutboxRow[];
  error?: unknown;
  failedId?: bigint;
}

async function publishInOrder(producer: Producer, rows: readonly OutboxRow[]): Promise<Published> {
  const sent: OutboxRow[] = [];
  let i = 0;
  while (i < rows.length) {
    // Consecutive rows of one topic go in one send, in order.
    const topic = rows[i]!.topic;
    let j = i;
    const messages: OutgoingMessage[] = [];
    while (j < rows.length && rows[j]!.topic === topic) messages.push(toMessage(rows[j++]!));
    try {
      await producer.send(topic, messages);
    } catch (error) {
      return { sent, error, failedId: idOf(rows[i]!) };
    }
    sent.push(...rows.slice(i, j));
    i = j;
  }
  return { sent };
}

/**
 * A transactional outbox (the "local message table") on your Kysely database
 * (PostgreSQL or PGlite): `add(trx, topic, message)` inserts the message in your
 * business transaction, so it exists exactly when your data does; the relay publishes
 * pending rows with `producer.send` in id order and marks them sent (or deletes them).
 *
 * Guarantees: a row whose transaction committed is published at least once, whatever
 * crashes (a relay killed after publishing and before marking publishes those rows
 * again: make consumers idempotent); a row whose transaction rolled back is never
 * published; rows are published in id (insert) order, and a failed send blocks the rows
 * after it until it succeeds (retried with `retry` backoff), so no key is reordered.
 * Two transactions adding rows for one key concurrently may commit in the opposite
 * order of their ids; serialise them (lock the business row) when that matters.
 *
 * Run the relay with `start()` (leader-only with `election`), or call `relayOnce()`
 * yourself. Create the table first with `createOutboxTable`.
 *
 * @throws InvalidOptionsError naming a bad option.
 *
 * @example
 * ```ts
 * import { createOutboxTable, outbox, redisStreamsQueue } from 'girder/mq';
 * import { leaderElection } from 'girder/jobs';
 * import { redisLock } from 'girder/lock';
 *
 * await createOutboxTable(db);
 * const queue = redisStreamsQueue(redis);
 * const election = leaderElection({ locker: redisLock(redis), name: 'outbox-relay' });
 * const box = outbox(db, { producer: queue.producer, election, pollMs: 200 });
 * box.start();
 *
 * await db.transaction().execute(async (trx) => {
 *   await trx.insertInto('payments').values({ order_id: 'o-42', amount: 100 }).execute();
 *   await box.add(trx, 'payments', { key: 'o-42', value: JSON.stringify({ orderId: 'o-42' }) });
 * });
 * ```
 */
export function outbox<DB>(db: Kysely<DB>, options: OutboxOptions): Outbox {
  parseOptions('outbox', z.strictObject({ db: kyselySchema }), { db });
  const o = parseOptions('outbox', schema, options);
  const { clock, name, producer } = o;
  const retry = o.retry ?? exponential({ initialMs: 100, maxMs: 30_000 });
  const t = sql.table(o.table);
  const k = db as unknown as AnyDb;
  const events = new TypedEmitter<OutboxEvents>();
  const stop = new AbortController();
  let loop: Promise<void> | undefined;
  let round: Promise<unknown> = Promise.resolve();

  const COLUMNS = sql.raw('id, topic, msg_key, value, encoding, headers');
  const readPending = (q: AnyDb, locked: boolean) =>
    sql<OutboxRow>`SELECT ${COLUMNS} FROM ${t} WHERE status = 'pending'
      ORDER BY id LIMIT ${o.batchSize} ${locked ? sql`FOR UPDATE SKIP LOCKED` : sql``}`.execute(q);

  const finish = async (q: AnyDb, result: Published) => {
    const now = Math.floor(clock.now());
    if (result.sent.length > 0) {
      const ids = result.sent.map((r) => String(idOf(r)));
      const where = sql`id IN (${sql.join(ids.map((id) => sql`${id}`))})`;
      await (o.onPublished === 'delete'
        ? sql`DELETE FROM ${t} WHERE ${where}`
        : sql`UPDATE ${t} SET status = 'sent', sent_at = ${now} WHERE ${where}`
      ).execute(q);
    }
    if (result.failedId !== undefined) {
      const text = String(result.error instanceof Error ? result.error.message : result.error);
      await sql`UPDATE ${t} SET attempts = attempts + 1, last_error = ${text.slice(0, 2_000)}
        WHERE id = ${String(result.failedId)}`.execute(q);
    }
  };

  // One round: read, publish, mark. Returns the published count, or the send error
  // (recorded on its row in the same transaction as the marks, then thrown by the caller).
  const oneRound = async (): Promise<Published> => {
    if (o.lock === 'none') {
      const { rows } = await readPending(k, false);
      const result = await publishInOrder(producer, rows);
      await finish(k, result);
      return result;
    }
    return k.transaction().execute(async (trx) => {
      const { rows } = await readPending(trx, true);
      if (rows.length === 0) return { sent: [] };
      // Pending rows we could not lock belong to another relay's round in flight:
      // publishing ours past one of them would overtake it. Two relays locking at once
      // can interleave (one skips a row the other just took), so publish only our rows
      // up to the first pending one that is not ours; none if the head is not ours.
      const before = await sql<OutboxRow>`SELECT id FROM ${t} WHERE status = 'pending'
        AND id <= ${String(idOf(rows[rows.length - 1]!))} ORDER BY id`.execute(trx);
      let ours = 0;
      while (
        ours < rows.length &&
        before.rows[ours] !== undefined &&
        idOf(before.rows[ours]!) === idOf(rows[ours]!)
      ) {
        ours++;
      }
      if (ours === 0) return { sent: [] };
      const result = await publishInOrder(producer, rows.slice(0, ours));
      await finish(trx, result);
      return result;
    });
  };

  const relayOnce = async (): Promise<number> => {
    // Rounds of one outbox object never overlap (start() and a manual call).
    const previous = round;
    let done!: () => void;
    round = new Promise<void>((r) => (done = r));
    await previous;
    try {
      const started = clock.now();
      const result = await oneRound();
      if (result.sent.length > 0) {
        events.emit('published', {
          name,
          count: result.sent.length,
          durationMs: clock.now() - started,
        });
      }
      if (result.failedId !== undefined) throw result.error;
      return result.sent.length;
    } finally {
      done();
    }
  };

  // Publish until `signal` aborts: straight on while full batches come back, then every
  // pollMs; after a failure, wait per `retry`.
  const relayUntil = async (signal: AbortSignal) => {
    let failures = 0;
    while (!signal.aborted) {
      let waitMs = o.pollMs;
      try {
        const n = await relayOnce();
        failures = 0;
        if (n >= o.batchSize) continue;
      } catch (error) {
        if (signal.aborted) return;
        failures += 1;
        waitMs = Math.max(0, retry.delayMs(failures));
        events.emit('failed', { name, error, attempt: failures, delayMs: waitMs });
      }
      await sleep(waitMs, { clock, signal }).catch(() => undefined);
    }
  };

  const runLoop = async () => {
    const election = o.election;
    while (!stop.signal.aborted) {
      if (election === undefined) {
        await relayUntil(stop.signal);
        continue;
      }
      try {
        // Leadership ends -> fn's signal aborts -> relayUntil returns -> campaign again.
        await election.run((lead) => relayUntil(AbortSignal.any([lead, stop.signal])), {
          signal: stop.signal,
        });
      } catch (error) {
        if (stop.signal.aborted || error instanceof AbortedError) continue;
        events.emit('failed', { name, error, attempt: 1, delayMs: o.pollMs });
        // A closed election never leads again: this relay is done.
        if (isGirderError(error, 'INVALID_ARGUMENT')) return;
        await sleep(o.pollMs, { clock, signal: stop.signal }).catch(() => undefined);
      }
    }
  };

  const close = async () => {
    stop.abort();
    await loop;
    await round;
  };

  return {
    name,
    events,
    async add(trx, topic, message) {
      if (typeof trx !== 'object' || trx === null || typeof trx.insertInto !== 'function') {
        throw new InvalidArgumentError('trx', 'must be a Kysely transaction (or instance)');
      }
      const rows = toRows(topic, message, clock.now());
      await (trx as AnyDb).insertInto(o.table).values(rows).execute();
      events.emit('added', { name, topic, count: rows.length });
    },
    start() {
      if (stop.signal.aborted) throw new InvalidArgumentError('outbox', 'is closed');
      loop ??= runLoop();
    },
    relayOnce,
    async pending() {
      const { rows } = await sql<{ n: string | number }>`SELECT COUNT(*) AS n FROM ${t}
        WHERE status = 'pending'`.execute(k);
      return Number(rows[0]?.n ?? 0);
    },
    async purge(olderThanMs) {
      if (typeof olderThanMs !== 'number' || !Number.isFinite(olderThanMs) || olderThanMs < 0) {
        throw new InvalidArgumentError('olderThanMs', 'must be a finite number >= 0');
      }
      const before = Math.floor(clock.now() - olderThanMs);
      const { rows } = await sql`DELETE FROM ${t} WHERE status = 'sent' AND sent_at < ${before}
        RETURNING id`.execute(k);
      return rows.length;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
