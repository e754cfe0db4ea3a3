// The notifications consumer: tells the buyer their order is paid. By SMS (through the
// shop's girder/sms stack) when the buyer has a linked phone, else in the log. The event
// carries the order (from the orders service); the phone comes from the users service,
// asked before the mark's transaction opens: no other service's table is read here.
//
// Idempotent on the order number: `idempotent` + `sqlIdempotencyStore` insert the mark in
// a transaction, and the `notifications` row is written in that same transaction, so a
// redelivered `order.paid` (a relay retry, a consumer crash before the ack) finds the mark
// and notifies nobody twice. The SMS goes out after that transaction commits (the SMS
// stack writes its own fallback queue, and PGlite has one connection): a process that
// dies between the commit and the send loses that one SMS (the row says it was due);
// a provider failure is not a loss, the stack queues the message and retries it.
import type { Clock } from 'girder/core';
import type { Logger } from 'girder/logger';
import {
  type BatchHandler,
  type IdempotentHandler,
  idempotent,
  sqlIdempotencyStore,
} from 'girder/mq';
import type { SmsService } from 'girder/sms';
import { NOTIFIED_TABLE } from '../db/migrations.js';
import type { Database, Db } from '../db/schema.js';
import { readOrderPaid } from './order-paid.js';

/** The SMS template telling a buyer an order is paid (`{orderNo}`). */
export const ORDER_PAID_TEMPLATE = 'shop_order_paid';

/** What notifications needs from the users service. */
export interface BuyerPhones {
  /** The account's linked phone, or null. */
  phoneOf(userId: string): Promise<string | null>;
}

export interface NotificationsOptions {
  db: Db;
  /** The users service's phones (direct or a gRPC client). */
  phones: BuyerPhones;
  sms: SmsService;
  logger: Logger;
  clock: Clock;
}

/** The `order.paid` handler of the `notifications` group, and its idempotent core. */
export function notificationsHandler(options: NotificationsOptions): {
  handler: BatchHandler;
  idempotent: IdempotentHandler;
} {
  const { db, sms, logger, clock, phones } = options;
  // Order number -> the buyer's phone (or null), looked up before each batch.
  const phoneByOrder = new Map<string, string | null>();
  const store = sqlIdempotencyStore<Database>(db, { table: NOTIFIED_TABLE, clock });
  // Order number -> phone, for messages newly marked in this batch (sent after commit).
  const due = new Map<string, string>();
  const core = idempotent(
    async (message, { trx }) => {
      const event = readOrderPaid(message);
      const phone = phoneByOrder.get(event.orderNo) ?? null;
      await trx
        .insertInto('notifications')
        .values({
          order_no: event.orderNo,
          user_id: event.userId,
          channel: phone ? 'sms' : 'log',
          sent_at: new Date(clock.now()),
        })
        .execute();
      if (phone) due.set(event.orderNo, phone);
      else {
        logger.info('order paid (buyer has no phone linked)', {
          orderNo: event.orderNo,
          userId: event.userId,
        });
      }
    },
    { store, key: (m) => readOrderPaid(m).orderNo, clock, name: 'notifications' },
  );
  // Keys whose mark committed (a rolled-back attempt leaves its phone in `due` unsent).
  const committed = new Set<string>();
  core.events.on('processed', ({ key }) => committed.add(key));
  const handler: BatchHandler = async (batch, signal) => {
    for (const message of batch) {
      const event = readOrderPaid(message);
      phoneByOrder.set(event.orderNo, await phones.phoneOf(event.userId));
    }
    try {
      await core(batch, signal);
    } finally {
      for (const message of batch) {
        const orderNo = readOrderPaid(message).orderNo;
        const phone = due.get(orderNo);
        const send = committed.has(orderNo);
        due.delete(orderNo);
        committed.delete(orderNo);
        phoneByOrder.delete(orderNo);
        if (phone === undefined || !send) continue;
        await sms
          .send(
            {
              to: [phone],
              template: ORDER_PAID_TEMPLATE,
              params: { orderNo },
              requestId: `order-paid:${orderNo}`,
            },
            signal,
          )
          .catch((err: unknown) =>
            logger.warn('order-paid SMS not sent', { orderNo, error: String(err) }),
          );
      }
    }
  };
  return { handler, idempotent: core };
}
