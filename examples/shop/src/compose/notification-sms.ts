// The notifications role's SMS in a cluster: the shop's SMS stack (compose/sms.ts
// `smsStack`: asyncFallback -> provider quota -> failover -> mock-1, mock-2) over the
// role's own queue table, in the role's own database. An order-paid SMS both providers
// refuse (or one over the providers' quota) is stored there and sent later by the
// role's worker. In one process the notifications consumer uses the gateway's stack.
import { NOTIFICATION_SMS_QUEUE_TABLE } from '../db/migrations.js';
import { type SmsStack, type SmsStackWiring, smsStack } from './sms.js';

/**
 * What the notifications role's stack is built from: the role's database (its migrations
 * made the queue table; untraced, as the worker polls it twice a second), and its
 * rate-limit store (with Redis, the provider quota is the gateway's too).
 */
export type NotificationSmsWiring = Omit<SmsStackWiring, 'table' | 'name'>;

/** The notifications role's SMS stack; `close()` stops its worker. */
export function notificationSms(wiring: NotificationSmsWiring): SmsStack {
  return smsStack({ ...wiring, table: NOTIFICATION_SMS_QUEUE_TABLE, name: 'notification-sms' });
}
