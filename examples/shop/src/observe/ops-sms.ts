// The ops page's SMS section: the fallback queue (depth read from the table on each poll;
// enqueued, retried, dead and delivered-from-queue counted from the stack's events) and
// each mock provider's sends by outcome, with its failure switch.
import type { AsyncFallbackSms, QueuedReason } from 'girder/sms';
import type { MockSmsProvider } from '../sms/mock-providers.js';

/** The `sms` field of `GET /api/admin/ops`. Counts are cumulative since start. */
export interface SmsOpsSnapshot {
  /** Jobs in the queue table by status, or null when the database did not answer. */
  queue: { pending: number; leased: number; sent: number; dead: number } | null;
  /** Messages stored instead of sent, by reason. */
  enqueued: Record<QueuedReason, number>;
  /** Queued sends that failed and were scheduled again. */
  retries: number;
  /** Jobs given up after their last attempt. */
  dead: number;
  /** Queued messages a worker delivered. */
  deliveredFromQueue: number;
  /** The fallback's crash detector: `up` (send now) or `down` (queue). */
  detector: 'up' | 'down' | 'none';
  /** Each provider: sends by outcome, and whether the ops page switched it to failing. */
  providers: Array<{ name: string; sent: number; failed: number; failing: boolean }>;
}

export function smsOps(stack: AsyncFallbackSms, providers: readonly MockSmsProvider[]) {
  const enqueued: Record<QueuedReason, number> = { 'rate-limited': 0, down: 0, error: 0 };
  const totals = { retries: 0, dead: 0, delivered: 0 };
  const byProvider = new Map(providers.map((p) => [p.name, { sent: 0, failed: 0 }]));
  const off = [
    stack.events.on('enqueued', (e) => {
      if (!e.duplicate) enqueued[e.reason]++;
    }),
    stack.events.on('retried', () => totals.retries++),
    stack.events.on('dead', () => totals.dead++),
    stack.events.on('sent', () => totals.delivered++),
    ...providers.flatMap((p) => {
      const counts = byProvider.get(p.name)!;
      return [
        p.events.on('sent', () => counts.sent++),
        p.events.on('failed', () => counts.failed++),
      ];
    }),
  ];
  return {
    async snapshot(): Promise<SmsOpsSnapshot> {
      const depth = await stack.queue.depth().catch(() => null);
      return {
        queue: depth && {
          pending: depth.pending,
          leased: depth.leased,
          sent: depth.sent,
          dead: depth.dead,
        },
        enqueued: { ...enqueued },
        retries: totals.retries,
        dead: totals.dead,
        deliveredFromQueue: totals.delivered,
        detector: stack.detector?.state ?? 'none',
        providers: providers.map((p) => ({
          name: p.name,
          ...byProvider.get(p.name)!,
          failing: p.failing,
        })),
      };
    },
    stop() {
      for (const o of off) o();
    },
  };
}
