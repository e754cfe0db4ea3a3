// The whole pattern on the real memory queue: payments written with their outbox rows,
// relayed by a leader-only relay through a producer that publishes every batch twice
// (what a crash between send and mark does), consumed by an idempotent handler booking
// into a ledger in its own transaction. Each payment is booked exactly once.
import { PGlite } from '@electric-sql/pglite';
import { Kysely, sql } from 'kysely';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { leaderElection } from '../../src/jobs/index.js';
import { memoryLock } from '../../src/lock/index.js';
import {
  createIdempotencyTable,
  createOutboxTable,
  idempotent,
  memoryQueue,
  outbox,
  type Producer,
  sqlIdempotencyStore,
} from '../../src/mq/index.js';
import { type AnyDb, serialPglite } from './outbox-helpers.js';

let db: AnyDb;
beforeAll(async () => {
  const client = new PGlite();
  await client.waitReady;
  db = new Kysely({ dialect: serialPglite(client) });
}, 120_000);
afterAll(() => db?.destroy());

it('payments written with the outbox are booked exactly once through duplicate publishes', async () => {
  await createOutboxTable(db);
  await createIdempotencyTable(db, { table: 'booked' });
  await db.schema
    .createTable('payments')
    .addColumn('order_id', 'text', (c) => c.primaryKey())
    .execute();
  await db.schema
    .createTable('ledger')
    .addColumn('order_id', 'text', (c) => c.notNull())
    .addColumn('amount', 'integer', (c) => c.notNull())
    .execute();

  const queue = memoryQueue();
  const twice: Producer = {
    async send(topic, messages) {
      await queue.producer.send(topic, messages);
      await queue.producer.send(topic, messages);
    },
  };
  const election = leaderElection({
    locker: memoryLock(),
    name: 'relay',
    ttlMs: 1_000,
    pollMs: 10,
  });
  const box = outbox(db, { producer: twice, election, pollMs: 10, lock: 'none', batchSize: 8 });
  box.start();

  const handler = idempotent(
    async (msg, { trx }) => {
      const p = JSON.parse(msg.text()) as { orderId: string; amount: number };
      await trx.insertInto('ledger').values({ order_id: p.orderId, amount: p.amount }).execute();
    },
    { store: sqlIdempotencyStore(db, { table: 'booked' }), key: (msg) => msg.key! },
  );
  let duplicates = 0;
  handler.events.on('duplicate', () => duplicates++);
  const sub = await queue.consumer.consume('payments', handler, {
    group: 'ledger',
    batch: { size: 5, waitMs: 5 },
  });

  const orders = Array.from({ length: 30 }, (_, i) => `o-${i}`);
  for (const orderId of orders) {
    await db.transaction().execute(async (trx) => {
      await trx.insertInto('payments').values({ order_id: orderId }).execute();
      await box.add(trx, 'payments', {
        key: orderId,
        value: JSON.stringify({ orderId, amount: 100 }),
      });
    });
  }
  await vi.waitFor(() => expect(duplicates).toBe(orders.length), { timeout: 20_000 });
  const rows = await sql<{ order_id: string; n: string }>`SELECT order_id, COUNT(*) AS n FROM ledger
    GROUP BY order_id ORDER BY order_id`.execute(db);
  expect(rows.rows).toHaveLength(orders.length);
  expect(rows.rows.every((r) => Number(r.n) === 1)).toBe(true);
  expect(await box.pending()).toBe(0);

  await sub.stop();
  await box.close();
  await election.close();
  await queue.close();
}, 60_000);
