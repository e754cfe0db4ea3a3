// memoryQueue: topics as in-process logs, consumer groups with a cursor and a pending
// list each, and XAUTOCLAIM-like takeover of messages left pending for `claimIdleMs`.
// One process only; everything is lost when it exits.
import { z } from 'zod';
import { type Clock, clockSchema, parseOptions, systemClock } from '../core/index.js';
import { BaseQueue, type StoredMessage } from './base-queue.js';
import type { ParsedConsumeOptions } from './consume-options.js';
import type { ConsumerSource } from './consumer-loop.js';
import { Delivery } from './message.js';
import type { GroupLag, Queue } from './types.js';

/**
 * Options of {@link memoryQueue}.
 *
 * @example
 * ```ts
 * const options: MemoryQueueOptions = { claimIdleMs: 5_000, maxLen: 10_000 };
 * ```
 */
export interface MemoryQueueOptions {
  /** Name for metrics. Default `memory`. */
  name?: string;
  /**
   * A message delivered, not acknowledged and untouched for this long (its member stopped
   * without finishing, or gave up on it) is handed to the next member that fetches. Live
   * members touch what they hold every `claimIdleMs / 3`. Default 30 000.
   */
  claimIdleMs?: number;
  /** How long an idle fetch waits before looking for claimable messages again. Default 1 000. */
  blockMs?: number;
  /** Messages kept per topic; the oldest beyond it are dropped, read or not (as Redis MAXLEN). Default 100 000. */
  maxLen?: number;
  /** Time source. Default `systemClock`. */
  clock?: Clock;
}

const schema = z.strictObject({
  name: z.string().min(1).default('memory'),
  claimIdleMs: z.number().int().min(1).max(86_400_000).default(30_000),
  blockMs: z.number().int().min(1).max(3_600_000).default(1_000),
  maxLen: z.number().int().min(1).max(100_000_000).default(100_000),
  clock: clockSchema.default(systemClock),
});

interface Entry extends StoredMessage {
  readonly seq: number;
}

interface PendingEntry {
  readonly entry: Entry;
  owner: number;
  deliveredAt: number;
  /** Attempts made so far (deliveries, plus in-process retries reported on release). */
  attempts: number;
}

interface Group {
  /** Next sequence number to deliver. */
  cursor: number;
  readonly pending: Map<number, PendingEntry>;
}

class Topic {
  entries: Entry[] = [];
  /** Sequence number of `entries[0]`. */
  base = 0;
  readonly groups = new Map<string, Group>();
  readonly waiters = new Set<() => void>();
  get next(): number {
    return this.base + this.entries.length;
  }
}

class MemoryQueue extends BaseQueue {
  readonly #topics = new Map<string, Topic>();
  readonly #o: z.output<typeof schema>;
  #members = 0;

  constructor(o: z.output<typeof schema>) {
    super(o.name, 'memory', o.clock, o.blockMs);
    this.#o = o;
  }

  #topic(name: string): Topic {
    let topic = this.#topics.get(name);
    if (topic === undefined) {
      topic = new Topic();
      this.#topics.set(name, topic);
    }
    return topic;
  }

  protected async publish(name: string, messages: readonly StoredMessage[]): Promise<void> {
    const topic = this.#topic(name);
    for (const m of messages) topic.entries.push({ ...m, seq: topic.next });
    const over = topic.entries.length - this.#o.maxLen;
    if (over > 0) {
      topic.entries = topic.entries.slice(over);
      topic.base += over;
    }
    const waiters = [...topic.waiters];
    topic.waiters.clear();
    for (const wake of waiters) wake();
  }

  protected async openSource(name: string, options: ParsedConsumeOptions): Promise<ConsumerSource> {
    const topic = this.#topic(name);
    let group = topic.groups.get(options.group);
    if (group === undefined) {
      group = { cursor: topic.base, pending: new Map() };
      topic.groups.set(options.group, group);
    }
    return new MemorySource(name, topic, group, ++this.#members, this.#o, this.clock);
  }

  protected async readLag(name: string, groupName: string): Promise<GroupLag> {
    const topic = this.#topics.get(name);
    const group = topic?.groups.get(groupName);
    if (topic === undefined) return { topic: name, group: groupName, pending: 0, lag: 0 };
    const cursor = Math.max(group?.cursor ?? topic.base, topic.base);
    return {
      topic: name,
      group: groupName,
      pending: group?.pending.size ?? 0,
      lag: topic.next - cursor,
    };
  }

  protected async closeBackend(): Promise<void> {
    for (const topic of this.#topics.values()) {
      for (const wake of topic.waiters) wake();
      topic.waiters.clear();
    }
  }
}

class MemorySource implements ConsumerSource {
  constructor(
    readonly name: string,
    readonly topic: Topic,
    readonly group: Group,
    readonly member: number,
    readonly o: z.output<typeof schema>,
    readonly clock: Clock,
  ) {}

  #take(max: number): Delivery[] {
    const now = this.clock.now();
    const out: Delivery[] = [];
    const { group, topic } = this;
    // Redeliveries first: anything left pending long enough, whoever held it.
    for (const p of group.pending.values()) {
      if (out.length >= max) break;
      if (now - p.deliveredAt < this.o.claimIdleMs) continue;
      p.owner = this.member;
      p.deliveredAt = now;
      p.attempts++;
      out.push(this.#delivery(p));
    }
    if (group.cursor < topic.base) group.cursor = topic.base; // trimmed unread
    while (out.length < max && group.cursor < topic.next) {
      const entry = topic.entries[group.cursor - topic.base]!;
      group.cursor++;
      const p: PendingEntry = { entry, owner: this.member, deliveredAt: now, attempts: 1 };
      group.pending.set(entry.seq, p);
      out.push(this.#delivery(p));
    }
    return out;
  }

  #delivery(p: PendingEntry): Delivery {
    const e = p.entry;
    return new Delivery(this.name, String(e.seq), e.key, e.value, e.headers, p.attempts, e.seq);
  }

  async fetch(max: number, signal: AbortSignal): Promise<Delivery[]> {
    const first = this.#take(max);
    if (first.length > 0 || signal.aborted) return first;
    await new Promise<void>((resolve) => {
      const done = () => {
        this.clock.clearTimeout(timer);
        this.topic.waiters.delete(done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = this.clock.setTimeout(done, this.o.blockMs);
      this.topic.waiters.add(done);
      signal.addEventListener('abort', done, { once: true });
    });
    return signal.aborted ? [] : this.#take(max);
  }

  async ack(messages: readonly Delivery[]): Promise<void> {
    for (const m of messages) this.group.pending.delete(m.ref as number);
  }

  async release(messages: readonly Delivery[]): Promise<void> {
    // They stay pending; remember the attempts made so the next delivery counts on.
    for (const m of messages) {
      const p = this.group.pending.get(m.ref as number);
      if (p !== undefined && p.owner === this.member) p.attempts = Math.max(p.attempts, m.attempt);
    }
  }

  get touchIntervalMs(): number {
    return Math.max(1, Math.floor(this.o.claimIdleMs / 3));
  }

  async touch(messages: readonly Delivery[]): Promise<void> {
    const now = this.clock.now();
    for (const m of messages) {
      const p = this.group.pending.get(m.ref as number);
      if (p !== undefined && p.owner === this.member) p.deliveredAt = now;
    }
  }

  async close(): Promise<void> {}
}

/**
 * An in-process queue: topics, consumer groups, redelivery of messages a stopped member
 * left unacknowledged (after `claimIdleMs`), lag. The embedded default for tests and
 * single-process apps; nothing survives a restart.
 *
 * @throws InvalidOptionsError for unknown or out-of-range options.
 *
 * @example
 * ```ts
 * import { memoryQueue } from 'girder/mq';
 *
 * const queue = memoryQueue({ claimIdleMs: 5_000 });
 * const sub = await queue.consumer.consume('orders', async (batch) => {
 *   for (const m of batch) console.log(m.text());
 * }, { group: 'mailer' });
 * await queue.producer.send('orders', [{ key: 'order-42', value: 'paid' }]);
 * await sub.stop();
 * ```
 */
export function memoryQueue(options: MemoryQueueOptions = {}): Queue {
  return new MemoryQueue(parseOptions('memoryQueue', schema, options));
}
