// The `order.paid` event: what the payments service puts in the outbox (with the payment,
// in its transaction; the order's fields come from the orders service) and what every
// consumer reads back.
import type { ReceivedMessage } from 'girder/mq';

/** The topic paid orders are published on. */
export const ORDER_PAID_TOPIC = 'order.paid';

export interface OrderPaidEvent {
  orderNo: string;
  userId: string;
  totalCents: number;
  items: Array<{ productId: number; quantity: number }>;
  /** The payment that paid it (absent in events written before this field existed). */
  paymentId?: string;
}

/** Parse a delivered `order.paid` message. */
export function readOrderPaid(message: ReceivedMessage): OrderPaidEvent {
  return JSON.parse(message.text()) as OrderPaidEvent;
}
