// Metrics and spans of a Locker (memory, Redis or etcd), from its events: what happened
// (acquired, contended, ...), how long callers waited, how long locks were held, and why
// locks were lost.
import {
  type Attributes,
  context,
  SpanKind,
  SpanStatusCode,
  type Tracer,
} from '@opentelemetry/api';
import type { EventSource } from '../core/index.js';
import type { LockEvents } from '../lock/index.js';
import { cellsBy, type Scope, subscribe } from './scope.js';
import { eventedBag, isFn } from './shape.js';

/** @internal Whether `block` is a Locker. */
export function lockKindOf(block: unknown): 'lock' | undefined {
  const b = eventedBag(block);
  if (b === undefined) return undefined;
  return isFn(b.acquire) && isFn(b.using) ? 'lock' : undefined;
}

/** @internal Map a locker's events to `<prefix>lock_*`. */
export function watchLock(scope: Scope, events: EventSource<LockEvents>): () => void {
  const kinds = scope.counter(
    'lock_events_total',
    'Lock events, by kind (acquired, contended, timeout, extended, extend_failed, lost, released).',
    ['kind'],
  );
  const acquired = kinds.series({ kind: 'acquired' });
  const contended = kinds.series({ kind: 'contended' });
  const timeout = kinds.series({ kind: 'timeout' });
  const extended = kinds.series({ kind: 'extended' });
  const extendFailed = kinds.series({ kind: 'extend_failed' });
  const lost = kinds.series({ kind: 'lost' });
  const released = kinds.series({ kind: 'released' });
  const lostBy = cellsBy(
    scope.counter(
      'lock_lost_total',
      'Locks lost while held, by reason (deadline, expired, session, closed).',
      ['reason'],
    ),
  );
  const wait = scope.histogram(
    'lock_wait_duration_seconds',
    'How long acquire waited, seconds, by outcome (acquired, timeout).',
    ['outcome'],
  );
  const waitAcquired = wait.cell(scope.labels({ outcome: 'acquired' }));
  const waitTimeout = wait.cell(scope.labels({ outcome: 'timeout' }));
  const hold = scope.histogram(
    'lock_hold_duration_seconds',
    'How long a lock was held, seconds, by outcome (released, lost).',
    ['outcome'],
  );
  const holdReleased = hold.cell(scope.labels({ outcome: 'released' }));
  const holdLost = hold.cell(scope.labels({ outcome: 'lost' }));
  return subscribe(events, {
    acquired: (e: LockEvents['acquired']) => {
      acquired.value++;
      wait.observe(waitAcquired, e.waitedMs / 1000);
    },
    contended: () => {
      contended.value++;
    },
    timeout: (e: LockEvents['timeout']) => {
      timeout.value++;
      wait.observe(waitTimeout, e.waitedMs / 1000);
    },
    extended: () => {
      extended.value++;
    },
    extendFailed: () => {
      extendFailed.value++;
    },
    lost: (e: LockEvents['lost']) => {
      lost.value++;
      lostBy(e.reason, () => ({ reason: e.reason })).value++;
      hold.observe(holdLost, e.heldMs / 1000);
    },
    released: (e: LockEvents['released']) => {
      released.value++;
      hold.observe(holdReleased, e.heldMs / 1000);
    },
  });
}

/**
 * @internal
 * Spans of a locker: one `girder.lock.acquire` span per acquisition that settled
 * (acquired or timed out), child of the caller's active span, recorded when it settles
 * with its measured start; a lost lock is an event on the active span, if any.
 */
export function traceLock(
  tracer: Tracer,
  events: EventSource<LockEvents>,
  named: Attributes,
  event: (name: string, attributes: Attributes) => void,
): () => void {
  const span = (key: string, waitedMs: number, attributes: Attributes, timedOut: boolean) => {
    const endTime = performance.timeOrigin + performance.now();
    const s = tracer.startSpan(
      'girder.lock.acquire',
      {
        kind: SpanKind.INTERNAL,
        startTime: endTime - waitedMs,
        attributes: {
          ...named,
          'girder.lock.key': key,
          'girder.lock.waited_ms': waitedMs,
          ...attributes,
        },
      },
      context.active(),
    );
    if (timedOut) s.setStatus({ code: SpanStatusCode.ERROR, message: 'LOCK_TIMEOUT' });
    s.end(endTime);
  };
  return subscribe(events, {
    acquired: (e: LockEvents['acquired']) =>
      span(e.key, e.waitedMs, { 'girder.lock.fence': e.fence }, false),
    timeout: (e: LockEvents['timeout']) => span(e.key, e.waitedMs, {}, true),
    lost: (e: LockEvents['lost']) =>
      event('girder.lock.lost', {
        ...named,
        'girder.lock.key': e.key,
        'girder.lock.fence': e.fence,
        'girder.lock.reason': e.reason,
      }),
  });
}
