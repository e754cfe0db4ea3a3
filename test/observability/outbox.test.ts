// girder/mq's outbox and idempotent handlers in Prometheus and OpenTelemetry: messages
// added and published, failed relay rounds, the backlog gauge read on scrape, and
// idempotent outcomes (processed, duplicate, busy, failed).
import { PGlite } from '@electric-sql/pglite';
import { trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { Kysely } from 'kysely';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryIdempotencyStore } from '../../src/mq/idem-memory.js';
import { createOutboxTable, idempotent, outbox } from '../../src/mq/index.js';
import { metrics, tracing } from '../../src/observability/index.js';
import { received } from '../mq/idempotent-helpers.js';
import { type AnyDb, recordingProducer, serialPglite } from '../mq/outbox-helpers.js';
import { nonZero, series } from './helpers.js';

let db: AnyDb;
beforeAll(async () => {
  const client = new PGlite();
  await client.waitReady;
  db = new Kysely({ dialect: serialPglite(client) });
}, 120_000);
afterAll(() => db?.destroy());

const settle = async () => {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
};

describe('metrics: outbox', () => {
  it('counts added, published and failed rounds, and shows the backlog', async () => {
    await createOutboxTable(db, { table: 'obs_outbox' });
    const producer = recordingProducer();
    const box = outbox(db, { table: 'obs_outbox', producer, name: 'payments' });
    const registry = new Registry();
    metrics({ registry }).watch(box);
    await db.transaction().execute(async (trx) => {
      await box.add(trx, 'paid', [{ value: 'a' }, { value: 'b' }]);
      await box.add(trx, 'paid', { value: 'c' });
    });
    expect(await nonZero(registry, 'girder_outbox_added_messages_total')).toEqual({
      'name=payments': 3,
    });
    await registry.metrics(); // the first scrape starts a backlog read
    await settle();
    await expect
      .poll(() => series(registry, 'girder_outbox_pending_messages'))
      .toEqual({ 'name=payments': 3 });
    producer.failNext('paid');
    await expect(box.relayOnce()).rejects.toThrow();
    await box.relayOnce();
    expect(await nonZero(registry, 'girder_outbox_published_messages_total')).toEqual({
      'name=payments': 3,
    });
    expect(await nonZero(registry, 'girder_outbox_relay_duration_seconds')).toEqual({
      'name=payments': 1,
    });
    await registry.metrics();
    await settle();
    await expect
      .poll(() => series(registry, 'girder_outbox_pending_messages'))
      .toEqual({ 'name=payments': 0 });
    await box.close();
  });

  it('counts relay failures reported by the relay loop', async () => {
    await createOutboxTable(db, { table: 'obs_outbox_loop' });
    const producer = recordingProducer();
    producer.failNext('*', 1_000);
    const box = outbox(db, { table: 'obs_outbox_loop', producer, name: 'loop', pollMs: 5 });
    const registry = new Registry();
    metrics({ registry }).watch(box);
    await db.transaction().execute((trx) => box.add(trx, 't', { value: 'x' }));
    box.start();
    await expect
      .poll(
        async () =>
          (await series(registry, 'girder_outbox_relay_failures_total'))['name=loop'] ?? 0,
      )
      .toBeGreaterThan(0);
    await box.close();
  });
});

describe('metrics: idempotent', () => {
  it('counts processed, duplicate, busy and failed messages', async () => {
    const store = memoryIdempotencyStore();
    let release!: () => void;
    const handler = idempotent(
      async (msg) => {
        if (msg.text() === 'slow') await new Promise<void>((r) => (release = r));
        if (msg.text() === 'bad') throw new Error('bad');
      },
      { store, key: (m) => m.key!, name: 'ledger' },
    );
    const registry = new Registry();
    metrics({ registry }).watch(handler);
    const signal = new AbortController().signal;
    await handler([received('t', 'a'), received('t', 'a')], signal);
    const slow = handler([received('t', 's', 'slow')], signal);
    await expect(handler([received('t', 's')], signal)).rejects.toThrow();
    release();
    await slow;
    await expect(handler([received('t', 'b', 'bad')], signal)).rejects.toThrow('bad');
    expect(await nonZero(registry, 'girder_idempotent_messages_total')).toEqual({
      'name=ledger,outcome=processed': 2,
      'name=ledger,outcome=duplicate': 1,
      'name=ledger,outcome=busy': 1,
      'name=ledger,outcome=failed': 1,
    });
    expect(await nonZero(registry, 'girder_idempotent_process_duration_seconds')).toEqual({
      'name=ledger': 2,
    });
  });
});

describe('tracing: outbox and idempotent', () => {
  it('a span per published round and per processed message, an event per duplicate', async () => {
    const exporter = new InMemorySpanExporter();
    const provider = new NodeTracerProvider({
      spanProcessors: [new SimpleSpanProcessor(exporter)],
    });
    // register() installs the context manager, so the consumer's span is the active one.
    provider.register();
    const tracer = trace.getTracer('girder-test');
    try {
      await createOutboxTable(db, { table: 'obs_outbox_trace' });
      const box = outbox(db, {
        table: 'obs_outbox_trace',
        producer: recordingProducer(),
        name: 'pay',
      });
      const handler = idempotent(async () => {}, {
        store: memoryIdempotencyStore(),
        key: (m) => m.key!,
        name: 'ledger',
      });
      const t = tracing({ tracer, redis: false });
      t.watch(box);
      t.watch(handler);
      await db
        .transaction()
        .execute((trx) => box.add(trx, 'paid', [{ value: 'a' }, { value: 'b' }]));
      await box.relayOnce();
      await tracer.startActiveSpan('consume', async (parent) => {
        await handler([received('paid', 'k'), received('paid', 'k')], new AbortController().signal);
        parent.end();
      });
      const spans = exporter.getFinishedSpans();
      const publish = spans.find((s) => s.name === 'girder.outbox.publish');
      expect(publish?.attributes).toMatchObject({
        'girder.name': 'pay',
        'messaging.batch.message_count': 2,
      });
      const processed = spans.filter((s) => s.name === 'girder.idempotent.process');
      expect(processed).toHaveLength(1);
      expect(processed[0]!.attributes).toMatchObject({ 'girder.idempotent.key': 'k' });
      const consume = spans.find((s) => s.name === 'consume');
      expect(consume?.events.map((e) => e.name)).toEqual(['girder.idempotent.duplicate']);
      t.close();
      await box.close();
    } finally {
      await provider.shutdown();
    }
  });
});
