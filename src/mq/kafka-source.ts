// One Kafka subscription as a ConsumerSource: kafkajs pushes batches through eachBatch,
// the consumer loop pulls them with fetch(). Each eachBatch call waits until the loop
// has settled every message of its batch, then resolves and commits the offsets of the
// handled prefix, and seeks back to the first message it gave up on (Kafka has no
// per-message acknowledgement: a committed offset covers everything before it).
import { type Clock, sleep } from '../core/index.js';
import type { ConsumerSource } from './consumer-loop.js';
import type { KafkaLikeBatchPayload, KafkaLikeConsumer, KafkaLikeMessage } from './kafka-client.js';
import { Delivery } from './message.js';

const DONE = 1;
const RELEASED = 2;

/** One eachBatch call waiting for its messages to be settled. */
class BatchTracker {
  readonly states: Uint8Array;
  remaining: number;
  abandoned = false;
  resolve!: () => void;
  readonly settled = new Promise<void>((r) => {
    this.resolve = r;
  });
  constructor(readonly offsets: readonly string[]) {
    this.states = new Uint8Array(offsets.length);
    this.remaining = offsets.length;
  }
  settle(index: number, state: number): void {
    if (this.states[index] !== 0) return;
    this.states[index] = state;
    if (--this.remaining === 0) this.resolve();
  }
}

interface KafkaRef {
  readonly tracker: BatchTracker;
  readonly index: number;
}

function headerText(headers: KafkaLikeMessage['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  if (headers === undefined) return out;
  for (const [name, v] of Object.entries(headers)) {
    if (v === undefined) continue;
    const first = Array.isArray(v) ? v[0] : v;
    if (first !== undefined) out[name] = first.toString();
  }
  return out;
}

/** @internal Settings of a Kafka subscription. */
export interface KafkaSourceSettings {
  readonly topic: string;
  readonly heartbeatMs: number;
  readonly redeliveryDelayMs: number;
  readonly blockMs: number;
  readonly clock: Clock;
}

export class KafkaSource implements ConsumerSource {
  readonly #consumer: KafkaLikeConsumer;
  readonly #s: KafkaSourceSettings;
  #buffer: Delivery[] = [];
  readonly #trackers = new Set<BatchTracker>();
  #wake: (() => void) | undefined;
  #closed = false;

  constructor(consumer: KafkaLikeConsumer, settings: KafkaSourceSettings) {
    this.#consumer = consumer;
    this.#s = settings;
  }

  /** The kafkajs eachBatch callback. */
  readonly eachBatch = async (p: KafkaLikeBatchPayload): Promise<void> => {
    const { batch } = p;
    if (batch.messages.length === 0 || this.#closed) return;
    const tracker = new BatchTracker(batch.messages.map((m) => m.offset));
    this.#trackers.add(tracker);
    batch.messages.forEach((m, index) => {
      const ref: KafkaRef = { tracker, index };
      const value = m.value === null ? new Uint8Array(0) : new Uint8Array(m.value);
      this.#buffer.push(
        new Delivery(
          batch.topic,
          `${batch.partition}:${m.offset}`,
          m.key === null ? undefined : m.key.toString(),
          value,
          headerText(m.headers),
          1,
          ref,
        ),
      );
    });
    this.#wake?.();
    const { clock, heartbeatMs } = this.#s;
    let beat: ReturnType<Clock['setTimeout']> | undefined;
    const keepAlive = () => {
      beat = clock.setTimeout(() => {
        p.heartbeat().catch(() => {});
        keepAlive();
      }, heartbeatMs);
    };
    keepAlive();
    try {
      await tracker.settled;
    } finally {
      if (beat !== undefined) clock.clearTimeout(beat);
      this.#trackers.delete(tracker);
    }
    if (tracker.abandoned || !p.isRunning() || p.isStale()) return;
    // Commit the handled prefix; re-read from the first message given up on.
    let firstReleased = -1;
    for (let i = 0; i < tracker.states.length; i++) {
      if (tracker.states[i] === RELEASED) {
        firstReleased = i;
        break;
      }
    }
    const upTo = firstReleased === -1 ? tracker.offsets.length : firstReleased;
    if (upTo > 0) {
      p.resolveOffset(tracker.offsets[upTo - 1]!);
      await p.commitOffsetsIfNecessary();
    }
    if (firstReleased !== -1) {
      await sleep(this.#s.redeliveryDelayMs, { clock }).catch(() => {});
      this.#consumer.seek({
        topic: batch.topic,
        partition: batch.partition,
        offset: tracker.offsets[firstReleased]!,
      });
    }
  };

  async fetch(max: number, signal: AbortSignal): Promise<Delivery[]> {
    if (this.#buffer.length === 0 && !signal.aborted) {
      await new Promise<void>((resolve) => {
        const done = () => {
          this.#s.clock.clearTimeout(timer);
          signal.removeEventListener('abort', done);
          this.#wake = undefined;
          resolve();
        };
        const timer = this.#s.clock.setTimeout(done, this.#s.blockMs);
        signal.addEventListener('abort', done, { once: true });
        this.#wake = done;
      });
    }
    return this.#buffer.splice(0, max);
  }

  async ack(messages: readonly Delivery[]): Promise<void> {
    for (const m of messages) {
      const ref = m.ref as KafkaRef;
      ref.tracker.settle(ref.index, DONE);
    }
  }

  async release(messages: readonly Delivery[]): Promise<void> {
    for (const m of messages) {
      const ref = m.ref as KafkaRef;
      ref.tracker.settle(ref.index, RELEASED);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#buffer = [];
    // Unsettled batches are not committed: the group re-reads them after the rebalance.
    for (const tracker of this.#trackers) {
      tracker.abandoned = true;
      tracker.resolve();
    }
    await this.#consumer.disconnect();
  }
}
