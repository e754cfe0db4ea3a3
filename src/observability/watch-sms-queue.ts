// Metrics of girder/sms's sync-to-async path (asyncFallback and smsQueueWorker): what
// was queued and why, what workers did, and the queue depth, read on scrape.
import type { EventSource } from '../core/index.js';
import type { SmsDetector, SmsQueue, SmsQueueDepth, SmsQueueEvents } from '../sms/index.js';
import { cellsBy, type Scope, subscribe } from './scope.js';
import { type Bag, eventedBag, isFn } from './shape.js';

/**
 * @internal Whether `block` is an asyncFallback (send + queue + workers) or an
 * smsQueueWorker (queue + runOnce).
 */
export function smsQueueKindOf(block: unknown): 'smsQueue' | undefined {
  const b = eventedBag(block);
  if (b === undefined) return undefined;
  const queue = b.queue as Bag | undefined;
  if (typeof queue !== 'object' || queue === null || !isFn(queue.claim)) return undefined;
  if ((isFn(b.send) && Array.isArray(b.workers)) || isFn(b.runOnce)) return 'smsQueue';
  return undefined;
}

/** @internal What a watched asyncFallback or smsQueueWorker offers. */
export interface SmsQueueBlock {
  readonly events: EventSource<SmsQueueEvents>;
  readonly queue: SmsQueue;
  readonly detector?: SmsDetector | undefined;
}

const STATUSES = ['pending', 'leased', 'sent', 'dead'] as const;

/** @internal Map an asyncFallback's or smsQueueWorker's events to `<prefix>sms_queue_*`. */
export function watchSmsQueue(scope: Scope, block: SmsQueueBlock): () => void {
  const kinds = scope.counter(
    'sms_queue_events_total',
    'SMS queue events, by kind (enqueued, duplicate, direct_sent, direct_failed, claimed, sent, retried, postponed, dead, lease_lost, queue_error).',
    ['kind'],
  );
  const k = (kind: string) => kinds.series({ kind });
  const enqueued = k('enqueued');
  const duplicate = k('duplicate');
  const directSent = k('direct_sent');
  const directFailed = k('direct_failed');
  const claimed = k('claimed');
  const sent = k('sent');
  const retried = k('retried');
  const postponed = k('postponed');
  const dead = k('dead');
  const leaseLost = k('lease_lost');
  const queueError = k('queue_error');
  const byReason = cellsBy(
    scope.counter(
      'sms_queue_enqueued_total',
      'Messages stored instead of sent, by reason (rate-limited, down, error).',
      ['reason'],
    ),
  );
  const wait = scope.histogram(
    'sms_queue_wait_seconds',
    'Time from enqueue to sent for queued messages, seconds.',
    [],
    [0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600],
  );
  const waitCell = wait.cell(scope.base);
  const send = scope.histogram(
    'sms_queue_send_duration_seconds',
    'Duration of the sends workers made, seconds.',
  );
  const sendCell = send.cell(scope.base);

  // Depth: the latest figures a worker reported, refreshed by one query per scrape.
  const depth = scope.gauge('sms_queue_depth', 'Jobs in the SMS queue, by status.', ['status']);
  let latest: SmsQueueDepth | undefined;
  let reading = false;
  const refresh = () => {
    if (reading) return;
    reading = true;
    block.queue.depth().then(
      (d) => {
        latest = d;
        reading = false;
      },
      () => {
        reading = false;
      },
    );
  };
  const showDepth = () => {
    if (latest !== undefined) {
      for (const s of STATUSES) depth.set(scope.labels({ status: s }), latest[s]);
    }
    refresh();
  };
  refresh();

  const offs = [
    subscribe(block.events, {
      enqueued: (e: SmsQueueEvents['enqueued']) => {
        if (e.duplicate) duplicate.value++;
        else enqueued.value++;
        byReason(e.reason, () => ({ reason: e.reason })).value++;
      },
      direct: (e: SmsQueueEvents['direct']) => {
        if (e.ok) directSent.value++;
        else directFailed.value++;
      },
      claimed: () => {
        claimed.value++;
      },
      sent: (e: SmsQueueEvents['sent']) => {
        sent.value++;
        wait.observe(waitCell, e.queuedForMs / 1000);
        send.observe(sendCell, e.durationMs / 1000);
      },
      retried: () => {
        retried.value++;
      },
      postponed: () => {
        postponed.value++;
      },
      dead: () => {
        dead.value++;
      },
      leaseLost: () => {
        leaseLost.value++;
      },
      queueError: () => {
        queueError.value++;
      },
      depth: (e: SmsQueueEvents['depth']) => {
        latest = e;
      },
    }),
    scope.onCollect(depth, showDepth),
  ];

  const detector = block.detector;
  if (detector !== undefined) {
    const down = scope.gauge(
      'sms_detector_down',
      'asyncFallback: 1 while its detector judges the SMS provider down, 0 while up.',
    );
    const read = () => down.set(scope.base, detector.state === 'down' ? 1 : 0);
    read();
    offs.push(scope.onCollect(down, read));
  }
  return () => {
    for (const off of offs) off();
  };
}
