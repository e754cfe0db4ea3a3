// What every backend's Queue shares: argument checks, the `sent` event, the registry of
// running subscriptions and the close order (stop consumers, then release the backend).
import { AbortedError, type Clock, TypedEmitter } from '../core/index.js';
import { type ParsedConsumeOptions, parseConsumeOptions } from './consume-options.js';
import { ConsumerLoop, type ConsumerSource } from './consumer-loop.js';
import { QueueClosedError } from './errors.js';
import { snapshotMessage } from './message.js';
import type {
  BatchHandler,
  ConsumeOptions,
  Consumer,
  GroupLag,
  OutgoingMessage,
  Producer,
  Queue,
  QueueEvents,
  Subscription,
} from './types.js';
import { checkMessages, checkName } from './validate.js';

/** @internal A validated, copied outgoing message. */
export type StoredMessage = ReturnType<typeof snapshotMessage>;

/** @internal The backend half of a queue. */
export abstract class BaseQueue implements Queue {
  readonly events = new TypedEmitter<QueueEvents>();
  readonly producer: Producer;
  readonly consumer: Consumer;
  readonly #subscriptions = new Set<ConsumerLoop>();
  #closed: Promise<void> | undefined;

  constructor(
    readonly name: string,
    readonly kind: Queue['kind'],
    protected readonly clock: Clock,
    private readonly fetchErrorDelayMs: number,
  ) {
    this.producer = { send: (topic, messages) => this.#send(topic, messages) };
    this.consumer = { consume: (topic, handler, opts) => this.#consume(topic, handler, opts) };
  }

  /** Store `messages` on `topic` (validated and copied already). */
  protected abstract publish(topic: string, messages: readonly StoredMessage[]): Promise<void>;
  /** Join `options.group` on `topic`, creating what is needed. */
  protected abstract openSource(
    topic: string,
    options: ParsedConsumeOptions,
  ): Promise<ConsumerSource>;
  /** Read the group's lag. */
  protected abstract readLag(topic: string, group: string): Promise<GroupLag>;
  /** Release what the backend owns, after every subscription stopped. */
  protected abstract closeBackend(): Promise<void>;

  get closed(): boolean {
    return this.#closed !== undefined;
  }

  async #send(
    topic: string,
    messages: readonly OutgoingMessage[],
    draining = false,
  ): Promise<void> {
    checkName(topic, 'topic');
    const list = checkMessages(messages);
    // Dead letters of a draining consumer still go out while the queue closes.
    if (this.closed && !draining) throw new QueueClosedError(this.name);
    if (list.length === 0) return;
    const started = this.clock.now();
    await this.publish(topic, list.map(snapshotMessage));
    this.events.emit('sent', { topic, count: list.length, durationMs: this.clock.now() - started });
  }

  async #consume(
    topic: string,
    handler: BatchHandler,
    options: ConsumeOptions,
  ): Promise<Subscription> {
    const parsed = parseConsumeOptions(topic, handler, options);
    if (this.closed) throw new QueueClosedError(this.name);
    if (parsed.signal?.aborted) throw new AbortedError(parsed.signal.reason);
    const source = await this.openSource(topic, parsed);
    const loop = new ConsumerLoop(source, handler, parsed, {
      topic,
      clock: this.clock,
      events: this.events,
      send: (t, m) => this.#send(t, m, true),
      fetchErrorDelayMs: this.fetchErrorDelayMs,
      onStopped: (l) => {
        this.#subscriptions.delete(l);
        this.events.emit('unsubscribed', { topic, group: parsed.group });
      },
    });
    this.#subscriptions.add(loop);
    loop.start();
    this.events.emit('subscribed', { topic, group: parsed.group });
    return loop;
  }

  lag(topic: string, group: string): Promise<GroupLag> {
    try {
      checkName(topic, 'topic');
      checkName(group, 'group');
    } catch (error) {
      return Promise.reject(error);
    }
    return this.readLag(topic, group);
  }

  close(): Promise<void> {
    this.#closed ??= (async () => {
      await Promise.all([...this.#subscriptions].map((s) => s.stop()));
      await this.closeBackend();
    })();
    return this.#closed;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
