// Messaging (girder/mq): the queue, the outbox relay and the `order.paid` consumers.
//
// - The queue: `memoryQueue` embedded, `redisStreamsQueue` with REDIS_URL (every instance
//   publishes to and consumes from the same streams, one consumer group per consumer).
// - The outbox: the payments service adds an `order.paid` row in the callback's
//   transaction; the relay publishes it, on the jobs' leader only (`election`).
// - Consumers of `order.paid`: `orders` (mark the order paid by its payment and commit the
//   stock reservation: the path that finishes a payment whose direct call to orders was
//   lost), `notifications` (tell the buyer) and `popular-sales` (the live units-sold
//   counters of the popular page), each idempotent on the order number.
import type { Counters } from 'girder/cache';
import type { Clock } from 'girder/core';
import type { Election } from 'girder/jobs';
import type { Logger } from 'girder/logger';
import {
  type BatchHandler,
  type IdempotentHandler,
  idempotent,
  memoryIdempotencyStore,
  memoryQueue,
  type Outbox,
  outbox,
  type Queue,
  redisStreamsQueue,
  type Subscription,
} from 'girder/mq';
import type { SmsService } from 'girder/sms';
import { Redis } from 'ioredis';
import { OUTBOX_TABLE } from '../db/migrations.js';
import type { Db } from '../db/schema.js';
import { type BuyerPhones, notificationsHandler } from '../notifications/consumer.js';
import {
  ORDER_PAID_TOPIC,
  type OrderPaidEvent,
  readOrderPaid,
} from '../notifications/order-paid.js';
import type { OrdersService } from '../orders/service.js';
import { salesHandler } from './popular-sales.js';

/** One consumer group of the shop, for the ops page. */
export interface ShopConsumer {
  readonly topic: string;
  readonly group: string;
  readonly deadLetter: string;
  /** What the subscription runs. */
  readonly handler: BatchHandler;
  /** The idempotent part of it, for its events (processed, duplicate, busy, failed). */
  readonly idempotent: IdempotentHandler;
}

export interface Messaging {
  readonly queue: Queue;
  readonly outbox: Outbox;
  readonly consumers: readonly ShopConsumer[];
  /** Add the `order.paid` row for `event` in the payment's transaction `tx`. */
  orderPaid(tx: Db, event: OrderPaidEvent): Promise<void>;
  close(): Promise<void>;
}

/** The consumer groups of `order.paid`, each run by the role owning its tables. */
export type ConsumerGroup = 'notifications' | 'popular-sales' | 'orders';

export const CONSUMER_GROUPS: readonly ConsumerGroup[] = [
  'notifications',
  'popular-sales',
  'orders',
];

export interface MessagingOptions {
  /** The outbox's database (payments'), and the consumers' (each group its owner's). */
  db: Db;
  redisUrl: string | undefined;
  redisPrefix: string;
  election: Election;
  outboxPollMs: number;
  /** Run the outbox relay (on the election's leader). Default true; false where the outbox is not this process's. */
  relay?: boolean;
  /** The consumer groups this process runs. Default all three (one process). */
  groups?: readonly ConsumerGroup[];
  /** For `notifications`. */
  sms?: SmsService;
  /** The orders service (direct or a gRPC client): the `orders` group marks orders paid; `popular-sales` loads units sold. */
  orders?: Pick<OrdersService, 'markPaid' | 'unitsSoldPage'>;
  /** The users service's phones (direct or a gRPC client), for `notifications`. */
  phones?: BuyerPhones;
  /** For `popular-sales`. */
  sales?: Counters;
  logger: Logger;
  clock: Clock;
}

function needed<T>(value: T | undefined, option: string, group: ConsumerGroup): T {
  if (value === undefined) throw new Error(`startMessaging: the ${group} group needs ${option}`);
  return value;
}

/** Failed batches: 5 attempts, then the dead-letter topic `<topic>.dead.<group>`. */
const RETRY = { maxAttempts: 5 };

const only = (handler: IdempotentHandler) => ({ handler, idempotent: handler });

export async function startMessaging(options: MessagingOptions): Promise<Messaging> {
  const { db, clock, logger } = options;
  const cleanup: Array<() => Promise<void>> = [];
  const close = async () => {
    for (const step of cleanup.reverse()) await step().catch(() => {});
  };
  try {
    let queue: Queue;
    if (options.redisUrl !== undefined) {
      const redis = new Redis(options.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2 });
      await redis.connect();
      cleanup.push(() =>
        redis.quit().then(
          () => {},
          () => redis.disconnect(),
        ),
      );
      queue = redisStreamsQueue(redis, {
        name: 'shop',
        prefix: `${options.redisPrefix}mq:`,
        claimIdleMs: 30_000,
        clock,
      });
    } else {
      queue = memoryQueue({ name: 'shop', clock });
    }
    cleanup.push(() => queue.close());
    queue.events.on('deadLettered', ({ topic, group, count, error }) =>
      logger.error('messages dead-lettered', { topic, group, count, error: String(error) }),
    );

    const box = outbox(db, {
      producer: queue.producer,
      table: OUTBOX_TABLE,
      election: options.election,
      pollMs: options.outboxPollMs,
      clock,
      name: 'shop-outbox',
    });
    cleanup.push(() => box.close());
    box.events.on('failed', ({ error, attempt }) =>
      logger.warn('outbox relay failed', { attempt, error: String(error) }),
    );

    // markPaid is idempotent per payment by itself (and runs its own transactions, so it
    // cannot sit inside a SQL mark's); the memory store only skips local redeliveries.
    const groups = new Set(options.groups ?? CONSUMER_GROUPS);
    const orders = groups.has('orders') ? needed(options.orders, 'orders', 'orders') : undefined;
    const ordersPaid = idempotent(
      async (message) => {
        const event = readOrderPaid(message);
        if (event.paymentId !== undefined) await orders?.markPaid(event.orderNo, event.paymentId);
      },
      {
        store: memoryIdempotencyStore({ clock }),
        key: (m) => readOrderPaid(m).orderNo,
        clock,
        name: 'orders-paid',
      },
    );
    const consumers: ShopConsumer[] = [];
    if (groups.has('notifications')) {
      consumers.push({
        topic: ORDER_PAID_TOPIC,
        group: 'notifications',
        deadLetter: `${ORDER_PAID_TOPIC}.dead.notifications`,
        ...notificationsHandler({
          db,
          sms: needed(options.sms, 'sms', 'notifications'),
          phones: needed(options.phones, 'phones', 'notifications'),
          logger,
          clock,
        }),
      });
    }
    if (groups.has('popular-sales')) {
      consumers.push({
        topic: ORDER_PAID_TOPIC,
        group: 'popular-sales',
        deadLetter: `${ORDER_PAID_TOPIC}.dead.popular-sales`,
        ...salesHandler({
          db,
          orders: needed(options.orders, 'orders', 'popular-sales'),
          sales: needed(options.sales, 'sales', 'popular-sales'),
          clock,
        }),
      });
    }
    if (groups.has('orders')) {
      consumers.push({
        topic: ORDER_PAID_TOPIC,
        group: 'orders',
        deadLetter: `${ORDER_PAID_TOPIC}.dead.orders`,
        ...only(ordersPaid),
      });
    }
    const subscriptions: Subscription[] = [];
    cleanup.push(async () => {
      await Promise.all(subscriptions.map((s) => s.stop()));
    });
    for (const c of consumers) {
      subscriptions.push(
        await queue.consumer.consume(c.topic, c.handler, {
          group: c.group,
          retry: RETRY,
          deadLetter: c.deadLetter,
        }),
      );
    }
    if (options.relay ?? true) box.start();

    return {
      queue,
      outbox: box,
      consumers,
      async orderPaid(tx, event) {
        await box.add(tx, ORDER_PAID_TOPIC, { key: event.orderNo, value: JSON.stringify(event) });
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
