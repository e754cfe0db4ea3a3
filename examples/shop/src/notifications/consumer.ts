// The notifications consumer: tells the buyer their order is paid. By SMS (through the
// shop's girder/sms stack) when the buyer has a linked phone, else in the log.
//
// Idempotent on the order number: `idempotent` + `sqlIdempotencyStore` insert the mark in
// a transaction, and the `notifications` row is written in that same transaction, so a
// redelivered `order.paid` (a relay retry, a consumer crash before the ack) finds the mark
// and notifies nobody twice. The SMS itself is sent inside the transaction: if sending
// throws, the mark rolls back and the delivery is retried; if the commit fails after a
// send, that one buyer may get the message twice (the only gap left).
import type { Clock } from 'girder/core';
import type { Logger } from 'girder/logger';
import { type IdempotentHandler, idempotent, sqlIdempotencyStore } from 'girder/mq';
import type { SmsService } from 'girder/sms';
import { NOTIFIED_TABLE } from '../db/migrations.js';
import type { Database, Db } from '../db/schema.js';
import { readOrderPaid } from './order-paid.js';

/** The SMS template telling a buyer an order is paid (`{orderNo}`). */
export const ORDER_PAID_TEMPLATE = 'shop_order_paid';

export interface NotificationsOptions {
  db: Db;
  sms: SmsService;
  logger: Logger;
  clock: Clock;
}

/** The `order.paid` handler of the `notifications` group. */
export function notificationsHandler(options: NotificationsOptions): IdempotentHandler {
  const { db, sms, logger, clock } = options;
  const store = sqlIdempotencyStore<Database>(db, { table: NOTIFIED_TABLE, clock });
  return idempotent(
    async (message, { trx }, signal) => {
      const event = readOrderPaid(message);
      const phone = await trx
        .selectFrom('user_phones')
        .select('phone')
        .where('user_id', '=', event.userId)
        .executeTakeFirst();
      await trx
        .insertInto('notifications')
        .values({
          order_no: event.orderNo,
          user_id: event.userId,
          channel: phone ? 'sms' : 'log',
          sent_at: new Date(clock.now()),
        })
        .execute();
      if (phone) {
        await sms.send(
          {
            to: [phone.phone],
            template: ORDER_PAID_TEMPLATE,
            params: { orderNo: event.orderNo },
            requestId: `order-paid:${event.orderNo}`,
          },
          signal,
        );
      } else {
        logger.info('order paid (buyer has no phone linked)', {
          orderNo: event.orderNo,
          userId: event.userId,
        });
      }
    },
    { store, key: (m) => readOrderPaid(m).orderNo, clock, name: 'notifications' },
  );
}
