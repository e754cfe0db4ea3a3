// Metrics and spans of girder/mq queues, named after the OpenTelemetry messaging
// conventions: messaging.client.sent.messages, messaging.client.consumed.messages and
// messaging.process.duration (dots become underscores in Prometheus names), labelled by
// `messaging_destination_name` (topic) and `messaging_consumer_group_name` (group).
// Lag and pending are gauges read on scrape, for every topic/group pair the queue has
// subscribed to in this process (kept after the subscription stops: a group nobody
// consumes any more is exactly what the lag alert must see).
import { SpanKind, SpanStatusCode, type Tracer } from '@opentelemetry/api';
import type { EventSource } from '../core/index.js';
import type { GroupLag, Queue, QueueEvents } from '../mq/index.js';
import type { Cell } from './families.js';
import { type Scope, subscribe } from './scope.js';
import { type Bag, isFn } from './shape.js';

/** @internal Whether `block` is a girder/mq queue (memory, Redis Streams, Kafka). */
export function mqKindOf(block: unknown): 'queue' | undefined {
  if (typeof block !== 'object' || block === null) return undefined;
  const b = block as Bag;
  const events = b.events as Bag | undefined;
  const producer = b.producer as Bag | undefined;
  const consumer = b.consumer as Bag | undefined;
  if (typeof events !== 'object' || events === null || !isFn(events.on)) return undefined;
  if (typeof producer !== 'object' || producer === null || !isFn(producer.send)) return undefined;
  if (typeof consumer !== 'object' || consumer === null || !isFn(consumer.consume))
    return undefined;
  return isFn(b.lag) ? 'queue' : undefined;
}

const DESTINATION = 'messaging_destination_name';
const GROUP = 'messaging_consumer_group_name';
const BATCH_BUCKETS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000];
const TOPIC_LABELS = ['messaging_system', DESTINATION] as const;
const PAIR_LABELS = ['messaging_system', DESTINATION, GROUP] as const;

/** A metric family: its name (after the prefix), help text and labels. */
type Family = readonly [name: string, help: string, labels: readonly string[]];

const COUNTERS = {
  sent: ['messaging_client_sent_messages_total', 'Messages published, by topic.', TOPIC_LABELS],
  consumed: [
    'messaging_client_consumed_messages_total',
    'Messages handed to handlers (first handling of each fetched batch), by topic and group.',
    PAIR_LABELS,
  ],
  outcome: [
    'messaging_process_messages_total',
    'Messages by handling outcome (processed, failed, retried, dead_lettered), by topic and group.',
    [...PAIR_LABELS, 'outcome'],
  ],
  errors: [
    'messaging_client_errors_total',
    'Backend errors outside handlers (fetch, acknowledge, claim, dead-letter publish).',
    PAIR_LABELS,
  ],
} as const satisfies Record<string, Family>;

const GAUGES = {
  lag: [
    'messaging_consumer_lag_messages',
    'Messages not yet delivered to the group (read on scrape).',
    PAIR_LABELS,
  ],
  pending: [
    'messaging_consumer_pending_messages',
    'Messages delivered to the group but not acknowledged (read on scrape; 0 on Kafka).',
    PAIR_LABELS,
  ],
} as const satisfies Record<string, Family>;

/** @internal Map a queue's events to `<prefix>messaging_*` series. */
export function watchQueue(scope: Scope, queue: Queue): () => void {
  const system = { messaging_system: queue.kind };
  const counter = ([name, help, labels]: Family) => scope.counter(name, help, labels);
  const gauge = ([name, help, labels]: Family) => scope.gauge(name, help, labels);
  const sent = counter(COUNTERS.sent);
  const consumed = counter(COUNTERS.consumed);
  const outcome = counter(COUNTERS.outcome);
  const errors = counter(COUNTERS.errors);
  const lagGauge = gauge(GAUGES.lag);
  const pendingGauge = gauge(GAUGES.pending);
  const duration = scope.histogram(
    'messaging_process_duration_seconds',
    'Duration of one handler call on a batch, seconds, by result (ok, error).',
    [...PAIR_LABELS, 'result'],
  );
  const batchSize = scope.histogram(
    'messaging_batch_message_count',
    'Messages per batch handed to a handler.',
    PAIR_LABELS,
    BATCH_BUCKETS,
  );

  // Cells per label set, looked up once.
  const cells = new Map<string, Cell>();
  const cell = (family: typeof sent, key: string, labels: () => Record<string, string>) => {
    let c = cells.get(key);
    if (c === undefined) {
      c = family.series(labels());
      cells.set(key, c);
    }
    return c;
  };
  const histCells = new Map<string, ReturnType<typeof duration.cell>>();
  const histCell = (h: typeof duration, key: string, labels: Record<string, string>) => {
    let c = histCells.get(key);
    if (c === undefined) {
      c = h.cell(scope.labels(labels));
      histCells.set(key, c);
    }
    return c;
  };
  const pairLabels = (topic: string, group: string) => ({
    ...system,
    [DESTINATION]: topic,
    [GROUP]: group,
  });
  const count = (kind: string, topic: string, group: string, n: number) => {
    const c = cell(outcome, `o\0${kind}\0${topic}\0${group}`, () => ({
      ...pairLabels(topic, group),
      outcome: kind,
    }));
    c.value += n;
  };

  // Lag: the latest reading per pair, refreshed (one read per pair) at each scrape.
  const pairs = new Map<string, { topic: string; group: string; latest?: GroupLag }>();
  let reading = false;
  const remember = (topic: string, group: string) => {
    const key = `${topic}\0${group}`;
    if (!pairs.has(key)) pairs.set(key, { topic, group });
  };
  const refresh = () => {
    if (reading || pairs.size === 0) return;
    reading = true;
    const reads = [...pairs.values()].map((p) =>
      queue.lag(p.topic, p.group).then(
        (l) => {
          p.latest = l;
        },
        () => {},
      ),
    );
    void Promise.all(reads).then(() => {
      reading = false;
    });
  };
  const showLag = () => {
    for (const p of pairs.values()) {
      if (p.latest === undefined) continue;
      const labels = scope.labels(pairLabels(p.topic, p.group));
      lagGauge.set(labels, p.latest.lag);
      pendingGauge.set(labels, p.latest.pending);
    }
    refresh();
  };

  return combine([
    subscribe(queue.events as EventSource<QueueEvents>, {
      sent: (e) => {
        cell(sent, `s\0${e.topic}`, () => ({ ...system, [DESTINATION]: e.topic })).value += e.count;
      },
      subscribed: (e) => {
        remember(e.topic, e.group);
        refresh();
      },
      consumed: (e) => {
        remember(e.topic, e.group);
        cell(consumed, `c\0${e.topic}\0${e.group}`, () => pairLabels(e.topic, e.group)).value +=
          e.count;
        batchSize.observe(
          histCell(batchSize, `b\0${e.topic}\0${e.group}`, pairLabels(e.topic, e.group)),
          e.count,
        );
      },
      processed: (e) => {
        count('processed', e.topic, e.group, e.count);
        duration.observe(
          histCell(duration, `d\0ok\0${e.topic}\0${e.group}`, {
            ...pairLabels(e.topic, e.group),
            result: 'ok',
          }),
          e.durationMs / 1000,
        );
      },
      failed: (e) => {
        count('failed', e.topic, e.group, e.count);
        duration.observe(
          histCell(duration, `d\0error\0${e.topic}\0${e.group}`, {
            ...pairLabels(e.topic, e.group),
            result: 'error',
          }),
          e.durationMs / 1000,
        );
      },
      retried: (e) => count('retried', e.topic, e.group, e.count),
      deadLettered: (e) => count('dead_lettered', e.topic, e.group, e.count),
      error: (e) => {
        cell(errors, `e\0${e.topic}\0${e.group}`, () => pairLabels(e.topic, e.group)).value++;
      },
    }),
    scope.onCollect(lagGauge, showLag),
    scope.onCollect(pendingGauge, showLag),
  ]);
}

function combine(offs: (() => void)[]): () => void {
  return () => {
    for (const off of offs) off();
  };
}

/** @internal One span per handled batch, `process <topic>`, back-dated to its start. */
export function traceQueue(tracer: Tracer, queue: Queue, name: string): () => void {
  const span = (
    e: QueueEvents['processed'] | QueueEvents['failed'],
    error: unknown,
    failed: boolean,
  ) => {
    const endTime = performance.timeOrigin + performance.now();
    const s = tracer.startSpan(`process ${e.topic}`, {
      kind: SpanKind.CONSUMER,
      startTime: endTime - e.durationMs,
      attributes: {
        'girder.name': name,
        'messaging.system': queue.kind,
        'messaging.operation.type': 'process',
        'messaging.destination.name': e.topic,
        'messaging.consumer.group.name': e.group,
        'messaging.batch.message_count': e.count,
      },
    });
    if (failed) {
      if (error instanceof Error) s.recordException(error);
      s.setStatus({
        code: SpanStatusCode.ERROR,
        message: error instanceof Error ? error.message : String(error),
      });
    }
    s.end(endTime);
  };
  return subscribe(queue.events as EventSource<QueueEvents>, {
    processed: (e) => span(e, undefined, false),
    failed: (e) => span(e, e.error, true),
  });
}
