// The `order.paid` event: what the payments service puts in the outbox (with the payment,
// in its transaction) and what every consumer reads back.
import type { ReceivedMessage } from 'girder/mq';
import type { Db } from '../db/schema.js';

/** The topic paid orders are published on. */
export const ORDER_PAID_TOPIC = 'order.paid';

export interface OrderPaidEvent {
  orderNo: string;
  userId: string;
  totalCents: number;
  items: Array<{ productId: number; quantity: number }>;
}

/** Read the order (inside the payment's transaction) into the event. */
export async function orderPaidEvent(tx: Db, orderNo: string): Promise<OrderPaidEvent> {
  const order = await tx
    .selectFrom('orders')
    .select(['order_no', 'user_id', 'total_cents'])
    .where('order_no', '=', orderNo)
    .executeTakeFirstOrThrow();
  const items = await tx
    .selectFrom('order_items')
    .select(['product_id', 'quantity'])
    .where('order_no', '=', orderNo)
    .orderBy('product_id')
    .execute();
  return {
    orderNo: order.order_no,
    userId: order.user_id,
    totalCents: order.total_cents,
    items: items.map((i) => ({ productId: i.product_id, quantity: i.quantity })),
  };
}

/** Parse a delivered `order.paid` message. */
export function readOrderPaid(message: ReceivedMessage): OrderPaidEvent {
  return JSON.parse(message.text()) as OrderPaidEvent;
}
