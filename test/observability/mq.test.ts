// girder/mq in girder/observability: OTel messaging counters, process duration and batch
// size histograms, outcome counts, lag/pending gauges read on scrape, a span per batch.
import { SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { constant } from '../../src/core/index.js';
import { memoryQueue } from '../../src/mq/index.js';
import { metrics, tracing } from '../../src/observability/index.js';
import { eventually, gate } from '../mq/contract.js';
import { nonZero, series } from './helpers.js';

const exporter = new InMemorySpanExporter();
const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const tracer = provider.getTracer('girder-mq-test');
afterAll(() => provider.shutdown());

const pair =
  'messaging_consumer_group_name=mailer,messaging_destination_name=orders,messaging_system=memory,name=shop';

describe('metrics: queues', () => {
  it('counts sent, consumed, processed, failed, retried and dead-lettered messages', async () => {
    const queue = memoryQueue({ name: 'shop', blockMs: 20 });
    const registry = new Registry();
    metrics({ registry }).watch(queue);
    await queue.producer.send('orders', [{ value: 'ok' }, { value: 'ok' }, { value: 'bad' }]);
    let done = 0;
    const sub = await queue.consumer.consume(
      'orders',
      async (batch) => {
        if (batch.some((m) => m.text() === 'bad')) throw new Error('bad message');
        done += batch.length;
      },
      {
        group: 'mailer',
        retry: { maxAttempts: 2, backoff: constant({ delayMs: 1 }) },
        deadLetter: 'orders.dlq',
      },
    );
    await eventually(async () =>
      expect(await nonZero(registry, 'girder_messaging_process_messages_total')).toEqual({
        [`${pair},outcome=processed`]: 2,
        [`${pair},outcome=failed`]: 2,
        [`${pair},outcome=retried`]: 1,
        [`${pair},outcome=dead_lettered`]: 1,
      }),
    );
    await sub.stop();
    expect(done).toBe(2);
    expect(await nonZero(registry, 'girder_messaging_client_sent_messages_total')).toEqual({
      'messaging_destination_name=orders,messaging_system=memory,name=shop': 3,
      'messaging_destination_name=orders.dlq,messaging_system=memory,name=shop': 1,
    });
    expect(await nonZero(registry, 'girder_messaging_client_consumed_messages_total')).toEqual({
      [pair]: 3,
    });
    expect(await nonZero(registry, 'girder_messaging_process_duration_seconds')).toEqual({
      [`${pair},result=ok`]: 2,
      [`${pair},result=error`]: 2,
    });
    expect(await nonZero(registry, 'girder_messaging_batch_message_count')).toEqual({ [pair]: 3 });
    await queue.close();
  });

  it('reads lag and pending on scrape for every pair the queue subscribed to', async () => {
    const queue = memoryQueue({ name: 'shop', blockMs: 20 });
    const registry = new Registry();
    metrics({ registry }).watch(queue);
    const hold = gate();
    const started = gate();
    const sub = await queue.consumer.consume(
      'orders',
      async () => {
        started.open();
        await hold.opened;
      },
      { group: 'mailer' },
    );
    await queue.producer.send('orders', [{ value: '1' }, { value: '2' }, { value: '3' }]);
    await started.opened;
    // Scrapes show the reading taken at the previous scrape: ask until it settles.
    await eventually(async () => {
      expect(await series(registry, 'girder_messaging_consumer_pending_messages')).toEqual({
        [pair]: 2,
      });
      expect(await series(registry, 'girder_messaging_consumer_lag_messages')).toEqual({
        [pair]: 1,
      });
    });
    hold.open();
    await sub.stop();
    // Kept after the stop: lag of a group nobody consumes must stay visible.
    await queue.producer.send('orders', [{ value: '4' }]);
    await eventually(async () => {
      expect(await series(registry, 'girder_messaging_consumer_lag_messages')).toEqual({
        [pair]: 1,
      });
      expect(await series(registry, 'girder_messaging_consumer_pending_messages')).toEqual({
        [pair]: 0,
      });
    });
    await queue.close();
  });
});

describe('tracing: queues', () => {
  it('records one CONSUMER span per handled batch, failed ones with an error status', async () => {
    exporter.reset();
    const queue = memoryQueue({ name: 'shop', blockMs: 20 });
    tracing({ tracer, redis: false }).watch(queue);
    await queue.producer.send('orders', [{ value: 'a' }, { value: 'b' }]);
    let calls = 0;
    const sub = await queue.consumer.consume(
      'orders',
      async () => {
        calls++;
        if (calls === 1) throw new Error('once');
      },
      {
        group: 'mailer',
        batch: { size: 2, waitMs: 10 },
        retry: { maxAttempts: 2, backoff: constant({ delayMs: 1 }) },
      },
    );
    await eventually(() => expect(calls).toBe(2));
    await sub.stop();
    await queue.close();
    const spans = exporter.getFinishedSpans();
    expect(spans.map((s) => s.name)).toEqual(['process orders', 'process orders']);
    expect(spans[0]!.status.code).toBe(SpanStatusCode.ERROR);
    expect(spans[1]!.attributes).toMatchObject({
      'girder.name': 'shop',
      'messaging.system': 'memory',
      'messaging.destination.name': 'orders',
      'messaging.consumer.group.name': 'mailer',
      'messaging.batch.message_count': 2,
    });
  });
});
