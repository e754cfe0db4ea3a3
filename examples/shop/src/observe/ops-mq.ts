// The ops page's view of messaging (girder/mq): per consumer group, its lag and pending
// deliveries (asked of the queue on each snapshot) and what this instance processed,
// failed and dead-lettered since it started (followed through the queue's events); and
// the outbox backlog (rows not yet relayed).
import type { Outbox, Queue } from 'girder/mq';

export interface MqGroupView {
  topic: string;
  group: string;
  /** Not yet delivered to the group; null when the queue could not say. */
  lag: number | null;
  /** Delivered, not yet acknowledged; null when the queue could not say. */
  pending: number | null;
  /** Messages handled and acknowledged on this instance. */
  processed: number;
  /** Messages whose batch failed on this instance (each attempt counts). */
  failed: number;
  /** Messages sent to the group's dead-letter topic on this instance. */
  deadLettered: number;
}

export interface MqOpsSnapshot {
  /** `memory` or `redis-streams`. */
  backend: string;
  groups: MqGroupView[];
  /** Outbox rows not yet published; null when the database could not say. */
  outboxBacklog: number | null;
}

export function mqOps(
  queue: Queue,
  outbox: Outbox,
  groups: ReadonlyArray<{ topic: string; group: string }>,
) {
  const counts = new Map<string, { processed: number; failed: number; deadLettered: number }>();
  const of = (topic: string, group: string) => {
    const id = `${topic}\u0000${group}`;
    let c = counts.get(id);
    if (!c) {
      c = { processed: 0, failed: 0, deadLettered: 0 };
      counts.set(id, c);
    }
    return c;
  };
  const offs = [
    queue.events.on('processed', (e) => {
      of(e.topic, e.group).processed += e.count;
    }),
    queue.events.on('failed', (e) => {
      of(e.topic, e.group).failed += e.count;
    }),
    queue.events.on('deadLettered', (e) => {
      of(e.topic, e.group).deadLettered += e.count;
    }),
  ];
  return {
    async snapshot(): Promise<MqOpsSnapshot> {
      const views = await Promise.all(
        groups.map(async ({ topic, group }) => {
          const lag = await queue.lag(topic, group).catch(() => undefined);
          return {
            topic,
            group,
            lag: lag?.lag ?? null,
            pending: lag?.pending ?? null,
            ...of(topic, group),
          };
        }),
      );
      return {
        backend: queue.kind,
        groups: views,
        outboxBacklog: await outbox.pending().catch(() => null),
      };
    },
    stop() {
      for (const off of offs) off();
    },
  };
}
