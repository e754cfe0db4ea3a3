// outbox(): rows added in the business transaction, relayed in id order, marked or
// deleted, retried after a failed send without reordering; the relay loop on a manual
// clock; leader-only relaying; two relays racing on PostgreSQL. PGlite and PostgreSQL.
import { sql } from 'kysely';
import { afterAll, expect, it, vi } from 'vitest';
import { constant, manualClock } from '../../src/core/index.js';
import { leaderElection } from '../../src/jobs/index.js';
import { memoryLock } from '../../src/lock/index.js';
import { createOutboxTable, type Outbox, outbox } from '../../src/mq/index.js';
import { describeBackends } from '../harness/index.js';
import {
  type AnyDb,
  closeDatabases,
  type RecordingProducer,
  recordingProducer,
  sqlBackends,
  tableName,
} from './outbox-helpers.js';

afterAll(closeDatabases);

// Generous: the relay runs on real databases, on machines that may be busy.
const WAIT = { timeout: 10_000, interval: 20 };

const newTable = async (db: AnyDb) => {
  const table = tableName('outbox');
  await createOutboxTable(db, { table });
  await createOutboxTable(db, { table });
  return table;
};

const addCommitted = async (
  db: AnyDb,
  box: Outbox,
  topic: string,
  values: string[],
  key?: string,
) =>
  db.transaction().execute(async (trx) => {
    await box.add(
      trx,
      topic,
      values.map((value) => (key === undefined ? { value } : { key, value })),
    );
  });

describeBackends(sqlBackends, (_name, env) => {
  const boxes: Outbox[] = [];
  const make = (
    table: string,
    producer: RecordingProducer,
    extra: Record<string, unknown> = {},
  ) => {
    const box = outbox(env().db, { table, producer, ...extra });
    boxes.push(box);
    return box;
  };
  afterAll(async () => {
    await Promise.all(boxes.map((b) => b.close()));
  });

  it('publishes committed rows in id order and never rolled-back ones', async () => {
    const { db } = env();
    const table = await newTable(db);
    const producer = recordingProducer();
    const box = make(table, producer);
    const added: number[] = [];
    box.events.on('added', (e) => added.push(e.count));
    await addCommitted(db, box, 'orders', ['o1', 'o2'], 'k');
    await expect(
      db.transaction().execute(async (trx) => {
        await box.add(trx, 'orders', { key: 'k', value: 'rolled-back' });
        throw new Error('business rule failed');
      }),
    ).rejects.toThrow('business rule failed');
    await addCommitted(db, box, 'payments', ['p1']);
    await addCommitted(db, box, 'orders', ['o3'], 'k');
    expect(await box.pending()).toBe(4);
    const published: number[] = [];
    box.events.on('published', (e) => published.push(e.count));
    expect(await box.relayOnce()).toBe(4);
    expect(producer.texts()).toEqual(['o1', 'o2', 'p1', 'o3']);
    expect(producer.sent.map((s) => s.topic)).toEqual(['orders', 'orders', 'payments', 'orders']);
    expect(producer.sent[0]!.message.key).toBe('k');
    expect(producer.sent[2]!.message.key).toBeUndefined();
    expect(await box.pending()).toBe(0);
    expect(await box.relayOnce()).toBe(0);
    expect(published).toEqual([4]);
    expect(added).toEqual([2, 1, 1, 1]);
    const rows = await db.selectFrom(table).select(['status']).execute();
    expect(rows.map((r) => r.status)).toEqual(['sent', 'sent', 'sent', 'sent']);
  });

  it('keeps binary values and headers, honours batchSize, and can delete published rows', async () => {
    const { db } = env();
    const table = await newTable(db);
    const producer = recordingProducer();
    const box = make(table, producer, { batchSize: 2, onPublished: 'delete' });
    await db.transaction().execute(async (trx) => {
      await box.add(trx, 't', {
        value: new Uint8Array([0, 255, 7]),
        headers: { 'x-trace': 'abc' },
      });
      await box.add(trx, 't', [{ value: 'a' }, { value: 'b' }]);
    });
    expect(await box.relayOnce()).toBe(2);
    expect(await box.pending()).toBe(1);
    expect(await box.relayOnce()).toBe(1);
    expect(producer.sent[0]!.message.value).toEqual(new Uint8Array([0, 255, 7]));
    expect(producer.sent[0]!.message.headers).toEqual({ 'x-trace': 'abc' });
    expect(producer.sent[1]!.message.headers).toBeUndefined();
    const left = await sql<{ n: string }>`SELECT COUNT(*) AS n FROM ${sql.table(table)}`.execute(
      db,
    );
    expect(Number(left.rows[0]!.n)).toBe(0);
  });

  it('a failed send blocks the rows after it; the retry publishes them in order', async () => {
    const { db } = env();
    const table = await newTable(db);
    const producer = recordingProducer();
    const box = make(table, producer);
    await addCommitted(db, box, 'a', ['a1', 'a2']);
    await addCommitted(db, box, 'b', ['b1']);
    await addCommitted(db, box, 'a', ['a3']);
    producer.failNext('b');
    await expect(box.relayOnce()).rejects.toThrow('broker refused b');
    expect(producer.texts()).toEqual(['a1', 'a2']);
    expect(await box.pending()).toBe(2);
    const failedRow = await db
      .selectFrom(table)
      .selectAll()
      .where('topic', '=', 'b')
      .executeTakeFirst();
    expect(failedRow).toMatchObject({
      attempts: 1,
      last_error: 'broker refused b',
      status: 'pending',
    });
    expect(await box.relayOnce()).toBe(2);
    expect(producer.texts()).toEqual(['a1', 'a2', 'b1', 'a3']);
  });

  it('the relay loop polls every pollMs and backs off after failures (manual clock)', async () => {
    const { db } = env();
    const table = await newTable(db);
    const producer = recordingProducer();
    const clock = manualClock(1_000_000);
    const box = make(table, producer, {
      pollMs: 1_000,
      clock,
      retry: constant({ delayMs: 5_000 }),
    });
    const failed: { attempt: number; delayMs: number }[] = [];
    box.events.on('failed', (e) => failed.push({ attempt: e.attempt, delayMs: e.delayMs }));
    producer.failNext('*', 2);
    await addCommitted(db, box, 't', ['x']);
    box.start();
    box.start(); // idempotent
    await vi.waitFor(() => expect(failed).toHaveLength(1), WAIT);
    await clock.advanceAsync(4_999);
    expect(failed).toHaveLength(1);
    await clock.advanceAsync(1);
    await vi.waitFor(
      () =>
        expect(failed).toEqual([
          { attempt: 1, delayMs: 5_000 },
          { attempt: 2, delayMs: 5_000 },
        ]),
      WAIT,
    );
    await clock.advanceAsync(5_000);
    await vi.waitFor(() => expect(producer.texts()).toEqual(['x']), WAIT);
    await addCommitted(db, box, 't', ['y']);
    // Drained: the next look is pollMs later.
    await vi.waitFor(async () => {
      await clock.advanceAsync(1_000);
      expect(producer.texts()).toEqual(['x', 'y']);
    }, WAIT);
    await box.close();
    await addCommitted(db, box, 't', ['after close']);
    await clock.advanceAsync(10_000);
    expect(producer.texts()).toEqual(['x', 'y']);
    expect(() => box.start()).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  it('relays on the leader only, and the follower takes over when the leader leaves', async () => {
    const { db } = env();
    const table = await newTable(db);
    const locker = memoryLock();
    const producers = [recordingProducer(), recordingProducer()];
    const elections = producers.map(() =>
      leaderElection({ locker, name: `relay-${table}`, ttlMs: 300, pollMs: 10 }),
    );
    const relays = producers.map((producer, i) =>
      make(table, producer, { election: elections[i], pollMs: 10 }),
    );
    relays[0]!.start();
    await vi.waitFor(() => expect(elections[0]!.isLeader).toBe(true), WAIT);
    relays[1]!.start();
    await addCommitted(db, relays[0]!, 't', ['1', '2']);
    await vi.waitFor(() => expect(producers[0]!.texts()).toEqual(['1', '2']), WAIT);
    await elections[0]!.close();
    await vi.waitFor(() => expect(elections[1]!.isLeader).toBe(true), { timeout: 10_000 });
    await addCommitted(db, relays[0]!, 't', ['3']);
    await vi.waitFor(() => expect(producers[1]!.texts()).toEqual(['3']), WAIT);
    expect(producers[0]!.texts()).toEqual(['1', '2']);
    await Promise.all(relays.map((r) => r.close()));
    await elections[1]!.close();
  });

  it('rejects bad arguments to add before writing anything, and bad options', async () => {
    const { db } = env();
    const table = await newTable(db);
    const box = make(table, recordingProducer());
    const bad: [unknown, unknown, unknown][] = [
      [db, '', { value: 'x' }],
      [db, 't', []],
      [db, 't', { value: 42 }],
      [db, 't', [{ value: 'ok' }, { value: 'x', key: 7 }]],
      [db, 't', { value: 'x', headers: { a: 1 } }],
      [db, 't', null],
      [{}, 't', { value: 'x' }],
    ];
    for (const [trx, topic, message] of bad) {
      await expect(box.add(trx as AnyDb, topic as string, message as never)).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
      });
    }
    expect(await box.pending()).toBe(0);
    await expect(box.purge(-1)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    const producer = recordingProducer();
    expect(() => outbox(db, { producer, pollMS: 5 } as never)).toThrow(/pollMS/);
    expect(() => outbox(db, { producer, batchSize: 0 })).toThrow(/batchSize/);
    expect(() => outbox(db, { producer: {} as never })).toThrow(/producer/);
    expect(() => outbox(db, { producer, table: 'a b' })).toThrow(/table/);
    expect(() => outbox({} as AnyDb, { producer })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS' }),
    );
    await expect(createOutboxTable(db, { tabel: 'x' } as never)).rejects.toThrow(/tabel/);
  });

  it('purges published rows older than a given age', async () => {
    const { db } = env();
    const table = await newTable(db);
    const clock = manualClock(5_000_000);
    const box = make(table, recordingProducer(), { clock });
    await addCommitted(db, box, 't', ['old']);
    await box.relayOnce();
    clock.advance(60_000);
    await addCommitted(db, box, 't', ['new', 'pending']);
    await box.relayOnce();
    await addCommitted(db, box, 't', ['still pending']);
    expect(await box.purge(30_000)).toBe(1);
    expect(await box.pending()).toBe(1);
  });

  it('two relays racing without a leader publish every row once, in order', async () => {
    const { db, connect } = env();
    const table = await newTable(db);
    const producer = recordingProducer();
    const writer = make(table, producer);
    for (let i = 0; i < 20; i++) {
      await addCommitted(
        db,
        writer,
        't',
        Array.from({ length: 10 }, (_, j) => `${i * 10 + j}`),
        `k${i % 3}`,
      );
    }
    // Each relay on its own pool, as separate processes would be (PGlite: one session).
    const relays = [connect(), connect(), connect()].map((d) =>
      outbox(d, { table, producer, batchSize: 7, pollMs: 5 }),
    );
    for (const r of relays) r.start();
    await vi.waitFor(() => expect(producer.sent.length).toBeGreaterThanOrEqual(200), {
      timeout: 20_000,
    });
    // Idle: a relay's rounds never overlap, so this waits for its round in flight (the
    // one that could still publish a row twice) and then finds nothing left to send.
    for (const r of relays) expect(await r.relayOnce()).toBe(0);
    expect(await writer.pending()).toBe(0);
    await Promise.all(relays.map((r) => r.close()));
    const texts = producer.texts();
    expect(texts).toHaveLength(200);
    expect(texts.map(Number)).toEqual(Array.from({ length: 200 }, (_, i) => i));
  }, 30_000);
});

// The interleaving two relays can produce when they lock at the same moment (one skips
// a row the other has just taken), made deterministic: another session holds row 2.
// PostgreSQL only: PGlite has one session, so nothing can hold a row meanwhile.
describeBackends(
  sqlBackends.filter((b) => b.name === 'postgres'),
  (_name, env) => {
    it('never publishes its rows past a pending row another relay holds', async () => {
      const { db, connect } = env();
      const table = await newTable(db);
      const producer = recordingProducer();
      const box = outbox(connect(), { table, producer, batchSize: 10 });
      await addCommitted(db, box, 't', ['0', '1', '2', '3', '4']);
      const other = connect();
      let release!: () => void;
      const released = new Promise<void>((r) => (release = r));
      let held!: () => void;
      const holding = new Promise<void>((r) => (held = r));
      const otherRound = other.transaction().execute(async (trx) => {
        await sql`SELECT id FROM ${sql.table(table)} WHERE id = (
          SELECT id FROM ${sql.table(table)} ORDER BY id OFFSET 1 LIMIT 1) FOR UPDATE`.execute(trx);
        held();
        await released;
      });
      await holding;
      // Rows 1, 3, 4, 5 are free: only row 1 goes, the rest would overtake row 2.
      expect(await box.relayOnce()).toBe(1);
      expect(producer.texts()).toEqual(['0']);
      release();
      await otherRound;
      expect(await box.relayOnce()).toBe(4);
      expect(producer.texts()).toEqual(['0', '1', '2', '3', '4']);
      await box.close();
    });
  },
);
