// Metrics and trace events of girder/mq's outbox and idempotent handlers: messages
// added, published and failed rounds, the relay's round duration, the backlog (pending
// rows, read on scrape), and idempotent outcomes (processed, duplicate, busy, failed).
// Names follow the OTel messaging vocabulary: "published" for sends, "process" for handling.
import { context, SpanKind, SpanStatusCode, type Tracer, trace } from '@opentelemetry/api';
import type { EventSource } from '../core/index.js';
import type { IdempotentEvents, OutboxEvents } from '../mq/index.js';
import { type Scope, subscribe } from './scope.js';
import { type Bag, isFn } from './shape.js';

/** @internal The kinds of girder/mq block mapped here. */
export type OutboxBlockKind = 'outbox' | 'idempotent';

/** @internal An outbox (add + relayOnce + pending) or an idempotent handler (a function with events). */
export function outboxKindOf(block: unknown): OutboxBlockKind | undefined {
  if ((typeof block !== 'object' && typeof block !== 'function') || block === null)
    return undefined;
  const b = block as Bag;
  const events = b.events as Bag | undefined;
  if (typeof events !== 'object' || events === null || !isFn(events.on)) return undefined;
  if (isFn(b.add) && isFn(b.relayOnce) && isFn(b.pending)) return 'outbox';
  // An idempotent handler: a BatchHandler carrying its events and its store.
  const store = b.store as Bag | undefined;
  if (
    typeof block === 'function' &&
    typeof store === 'object' &&
    store !== null &&
    isFn(store.once)
  )
    return 'idempotent';
  return undefined;
}

/** @internal What a watched outbox offers. */
export interface OutboxBlock {
  readonly events: EventSource<OutboxEvents>;
  pending(): Promise<number>;
}

/** @internal Map an outbox's events to `<prefix>outbox_*`. */
export function watchOutbox(scope: Scope, block: OutboxBlock): () => void {
  const added = scope
    .counter(
      'outbox_added_messages_total',
      'Messages written to the outbox (counted when added, before their transaction commits).',
    )
    .series();
  const published = scope
    .counter('outbox_published_messages_total', 'Outbox messages the relay published.')
    .series();
  const failures = scope
    .counter(
      'outbox_relay_failures_total',
      'Relay rounds that failed (publish or database); each is retried with backoff.',
    )
    .series();
  const rounds = scope.histogram(
    'outbox_relay_duration_seconds',
    'Duration of relay rounds that published (read, publish, mark), seconds.',
  );
  const roundCell = rounds.cell(scope.base);
  // Backlog: rows not yet published, read by one COUNT per scrape; a scrape shows the
  // figure of the previous read (the registry cannot wait for the database).
  const backlog = scope.gauge(
    'outbox_pending_messages',
    'Outbox rows not yet published (the backlog).',
  );
  let reading = false;
  const refresh = () => {
    if (reading) return;
    reading = true;
    block.pending().then(
      (n) => {
        backlog.set(scope.base, n);
        reading = false;
      },
      () => {
        reading = false;
      },
    );
  };
  refresh();
  const offs = [
    subscribe(block.events, {
      added: (e: OutboxEvents['added']) => {
        added.value += e.count;
      },
      published: (e: OutboxEvents['published']) => {
        published.value += e.count;
        rounds.observe(roundCell, e.durationMs / 1000);
      },
      failed: () => {
        failures.value++;
      },
    }),
    scope.onCollect(backlog, refresh),
  ];
  return () => {
    for (const off of offs) off();
  };
}

/** @internal Map an idempotent handler's events to `<prefix>idempotent_*`. */
export function watchIdempotent(scope: Scope, events: EventSource<IdempotentEvents>): () => void {
  const outcomes = scope.counter(
    'idempotent_messages_total',
    'Messages seen by an idempotent handler, by outcome (processed, duplicate: skipped as already processed, busy: in progress elsewhere, failed).',
    ['outcome'],
  );
  const processed = outcomes.series({ outcome: 'processed' });
  const duplicate = outcomes.series({ outcome: 'duplicate' });
  const busy = outcomes.series({ outcome: 'busy' });
  const failed = outcomes.series({ outcome: 'failed' });
  const duration = scope.histogram(
    'idempotent_process_duration_seconds',
    'Duration of processed messages (store and handler), seconds.',
  );
  const cell = duration.cell(scope.base);
  return subscribe(events, {
    processed: (e: IdempotentEvents['processed']) => {
      processed.value++;
      duration.observe(cell, e.durationMs / 1000);
    },
    duplicate: () => {
      duplicate.value++;
    },
    busy: () => {
      busy.value++;
    },
    failed: () => {
      failed.value++;
    },
  });
}

/** @internal Start the metrics mapping of an outbox or idempotent handler. */
export function watchOutboxBlock(scope: Scope, kind: OutboxBlockKind, block: unknown): () => void {
  const b = block as { events: EventSource<never> };
  return kind === 'outbox'
    ? watchOutbox(scope, block as OutboxBlock)
    : watchIdempotent(scope, b.events as EventSource<IdempotentEvents>);
}

/**
 * @internal Trace an outbox or idempotent handler: a `girder.outbox.publish` span per
 * relay round that published (PRODUCER, back-dated to its start), an event on the
 * active span for failed rounds; a `girder.idempotent.process` span per processed
 * message and an event for each duplicate skipped.
 */
export function traceOutbox(
  tracer: Tracer,
  kind: OutboxBlockKind,
  events: EventSource<never>,
  name: string,
): () => void {
  const named = { 'girder.name': name };
  const event = (eventName: string, attributes: Record<string, string | number>) =>
    trace.getActiveSpan()?.addEvent(eventName, attributes);
  const backDated = (
    spanName: string,
    spanKind: SpanKind,
    durationMs: number,
    attributes: Record<string, string | number>,
  ) => {
    const endTime = performance.timeOrigin + performance.now();
    const span = tracer.startSpan(
      spanName,
      { kind: spanKind, startTime: endTime - durationMs, attributes },
      context.active(),
    );
    span.setStatus({ code: SpanStatusCode.OK });
    span.end(endTime);
  };
  if (kind === 'outbox') {
    return subscribe(events as EventSource<OutboxEvents>, {
      published: (e: OutboxEvents['published']) =>
        backDated('girder.outbox.publish', SpanKind.PRODUCER, e.durationMs, {
          ...named,
          'messaging.operation.type': 'send',
          'messaging.batch.message_count': e.count,
        }),
      failed: (e: OutboxEvents['failed']) =>
        event('girder.outbox.failed', { ...named, 'girder.outbox.attempt': e.attempt }),
    });
  }
  return subscribe(events as EventSource<IdempotentEvents>, {
    processed: (e: IdempotentEvents['processed']) =>
      backDated('girder.idempotent.process', SpanKind.CONSUMER, e.durationMs, {
        ...named,
        'messaging.operation.type': 'process',
        'messaging.destination.name': e.topic,
        'girder.idempotent.key': e.key,
      }),
    duplicate: (e: IdempotentEvents['duplicate']) =>
      event('girder.idempotent.duplicate', {
        ...named,
        'messaging.destination.name': e.topic,
        'girder.idempotent.key': e.key,
      }),
  });
}
