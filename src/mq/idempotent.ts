// idempotent(handler, { store, key }): a BatchHandler that runs the per-message handler
// once per business key. Messages of a batch go one by one, in order, so a batch that
// fails half-way is retried without re-running the messages already marked done.
import { z } from 'zod';
import {
  type Clock,
  clockSchema,
  type EventSource,
  functionSchema,
  InvalidArgumentError,
  parseOptions,
  systemClock,
  TypedEmitter,
} from '../core/index.js';
import {
  checkIdempotencyKey,
  IdempotencyBusyError,
  type IdempotencyContext,
  type IdempotencyStore,
} from './idem-store.js';
import type { BatchHandler, ReceivedMessage } from './types.js';

/**
 * Events of an {@link idempotent} handler. Durations are in milliseconds.
 *
 * @example
 * ```ts
 * handler.events.on('duplicate', ({ key, topic }) => log.info({ key, topic }, 'skipped'));
 * ```
 */
export type IdempotentEvents = {
  /** The handler ran for a new key and succeeded; the key is marked done. */
  processed: {
    /** The handler's name. */
    name: string;
    /** The message's topic. */
    topic: string;
    /** The business key. */
    key: string;
    /** Time in the store and the handler. */
    durationMs: number;
  };
  /** A message whose key was already processed was skipped. */
  duplicate: {
    /** The handler's name. */
    name: string;
    /** The message's topic. */
    topic: string;
    /** The business key. */
    key: string;
  };
  /** Another consumer is processing the key; the batch fails with `IdempotencyBusyError` and is retried. */
  busy: {
    /** The handler's name. */
    name: string;
    /** The message's topic. */
    topic: string;
    /** The business key. */
    key: string;
  };
  /** The handler (or the store) failed; the key stays unprocessed and the batch fails. */
  failed: {
    /** The handler's name. */
    name: string;
    /** The message's topic. */
    topic: string;
    /** The business key (empty when `key()` itself failed). */
    key: string;
    /** What was thrown. */
    error: unknown;
    /** Time in the store and the handler. */
    durationMs: number;
  };
};

/**
 * The per-message handler {@link idempotent} wraps. `context` comes from the store: the
 * SQL store's holds `trx`, the transaction to write the side effects in.
 *
 * @typeParam C - the store's context.
 * @example
 * ```ts
 * const book: MessageHandler<IdempotencyContext> = async (msg, { key }, signal) => {
 *   await ledger.book(key, msg.text(), { signal });
 * };
 * ```
 */
export type MessageHandler<C extends IdempotencyContext> = (
  message: ReceivedMessage,
  context: C,
  signal: AbortSignal,
) => Promise<void>;

/**
 * Options of {@link idempotent}.
 *
 * @typeParam C - the store's context.
 * @example
 * ```ts
 * const options: IdempotentOptions<IdempotencyContext> = {
 *   store: memoryIdempotencyStore(),
 *   key: (msg) => JSON.parse(msg.text()).orderId,
 * };
 * ```
 */
export interface IdempotentOptions<C extends IdempotencyContext> {
  /** Where the "already processed" marks live. */
  store: IdempotencyStore<C>;
  /** The business key of a message (e.g. the order id): deliveries with one key are processed once. */
  key: (message: ReceivedMessage) => string;
  /** Time source of the event durations. Default `systemClock`. */
  clock?: Clock;
  /** A name for logs and metrics. Default `idempotent`. */
  name?: string;
}

/**
 * A {@link BatchHandler} that processes each business key once, with typed events.
 *
 * @example
 * ```ts
 * const handler: IdempotentHandler = idempotent(book, { store, key: (m) => m.key! });
 * await queue.consumer.consume('payments', handler, { group: 'ledger' });
 * ```
 */
export interface IdempotentHandler extends BatchHandler {
  /** The name given in the options (the function's own `name`). */
  readonly name: string;
  /** Typed events: processed, duplicate, busy, failed. */
  readonly events: EventSource<IdempotentEvents>;
  /** The store that remembers processed keys. */
  readonly store: IdempotencyStore;
}

const storeSchema = z.custom<IdempotencyStore<IdempotencyContext>>(
  (v) =>
    typeof v === 'object' &&
    v !== null &&
    typeof (v as IdempotencyStore).once === 'function' &&
    typeof (v as IdempotencyStore).kind === 'string',
  {
    message:
      'must be an IdempotencyStore (memoryIdempotencyStore, redisIdempotencyStore, sqlIdempotencyStore)',
  },
);

const schema = z.strictObject({
  store: storeSchema,
  key: functionSchema<(message: ReceivedMessage) => string>(),
  clock: clockSchema.default(systemClock),
  name: z.string().min(1).max(200).default('idempotent'),
});

/**
 * Wrap a per-message handler so each business key is processed once: `key(message)`
 * names it (the order id, the payment id), and `store` remembers which keys are done.
 * The result is a {@link BatchHandler} for `consumer.consume`: it goes through a batch
 * in order, skips keys already done (event `duplicate`), and runs the handler for the
 * others. A failure stops the batch and rejects, so the queue retries it; keys marked
 * before the failure are skipped on the retry. A key in progress on another consumer
 * rejects with {@link IdempotencyBusyError} (event `busy`), so the queue retries later.
 *
 * How strong "once" is depends on the store: exactly once for SQL side effects written
 * through the SQL store's `trx`; "once unless a worker dies between its side effect and
 * the mark" for Redis (see `redisIdempotencyStore`).
 *
 * @throws InvalidOptionsError naming a bad option.
 *
 * @example
 * ```ts
 * import { idempotent, redisIdempotencyStore } from 'girder/mq';
 *
 * const handler = idempotent(
 *   async (msg, _ctx, signal) => sendReceipt(JSON.parse(msg.text()), { signal }),
 *   { store: redisIdempotencyStore(redis), key: (msg) => JSON.parse(msg.text()).orderId },
 * );
 * handler.events.on('duplicate', ({ key }) => console.log('already sent', key));
 * await queue.consumer.consume('payments', handler, { group: 'receipts' });
 * ```
 */
export function idempotent<C extends IdempotencyContext>(
  handler: MessageHandler<C>,
  options: IdempotentOptions<C>,
): IdempotentHandler {
  if (typeof handler !== 'function') {
    throw new InvalidArgumentError('handler', 'must be a function');
  }
  const o = parseOptions('idempotent', schema, options);
  const store = o.store as unknown as IdempotencyStore<C>;
  const clock = o.clock;
  const name = o.name;
  const events = new TypedEmitter<IdempotentEvents>();

  const handleOne = async (message: ReceivedMessage, signal: AbortSignal) => {
    const started = clock.now();
    let key = '';
    try {
      key = checkIdempotencyKey(o.key(message), 'key(message)');
      const ran = await store.once(key, (context) => handler(message, context, signal), signal);
      if (ran) {
        events.emit('processed', {
          name,
          topic: message.topic,
          key,
          durationMs: clock.now() - started,
        });
      } else {
        events.emit('duplicate', { name, topic: message.topic, key });
      }
    } catch (error) {
      if (error instanceof IdempotencyBusyError) {
        events.emit('busy', { name, topic: message.topic, key });
      } else {
        const durationMs = clock.now() - started;
        events.emit('failed', { name, topic: message.topic, key, error, durationMs });
      }
      throw error;
    }
  };

  const batchHandler = async (batch: readonly ReceivedMessage[], signal: AbortSignal) => {
    if (!Array.isArray(batch))
      throw new InvalidArgumentError('batch', 'must be an array of messages');
    for (const message of batch) await handleOne(message, signal);
  };
  Object.defineProperty(batchHandler, 'name', { value: name });
  return Object.assign(batchHandler, { events, store }) as unknown as IdempotentHandler;
}
