// The notifications service's read side: what the `order.paid` consumer sent, per order.
// Owns the `notifications` table (and the consumer's idempotency marks).
import type { Db } from '../db/schema.js';

export interface Notification {
  orderNo: string;
  userId: string;
  /** `sms` or `log`. */
  channel: string;
  sentAt: Date;
}

export interface NotificationsService {
  /** The buyer's notice for a paid order, or null when none was sent (yet). */
  forOrder(orderNo: string): Promise<Notification | null>;
}

export function notificationsService({ db }: { db: Db }): NotificationsService {
  return {
    async forOrder(orderNo) {
      const row = await db
        .selectFrom('notifications')
        .selectAll()
        .where('order_no', '=', orderNo)
        .executeTakeFirst();
      return row
        ? { orderNo: row.order_no, userId: row.user_id, channel: row.channel, sentAt: row.sent_at }
        : null;
    },
  };
}
