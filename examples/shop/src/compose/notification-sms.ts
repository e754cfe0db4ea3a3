// The notifications role's SMS in a cluster: the shop's SMS stack (compose/sms.ts
// `smsStack`: asyncFallback -> provider quota -> failover -> mock-1, mock-2) over the
// role's own queue table, in the role's own database. An order-paid SMS both providers
// refuse (or one over the providers' quota) is stored there and sent later by the
// role's worker. In one process the notifications consumer uses the gateway's stack.
import type { Clock } from 'girder/core';
import type { Logger } from 'girder/logger';
import type { RateLimitStore } from 'girder/ratelimit';
import type { ShopConfig } from '../config.js';
import type { OpenDatabase } from '../db/database.js';
import { NOTIFICATION_SMS_QUEUE_TABLE } from '../db/migrations.js';
import { type SmsStack, smsStack } from './sms.js';

export interface NotificationSmsWiring {
  config: ShopConfig;
  /**
   * The notifications role's database (its migrations made the queue table). Untraced:
   * the worker polls the table twice a second, which would fill the traces.
   */
  db: OpenDatabase['db'];
  logger: Logger;
  clock: Clock;
  /** The role's rate-limit store: with Redis, the provider quota is the gateway's too. */
  rateLimitStore: RateLimitStore;
}

/** The notifications role's SMS stack; `close()` stops its worker. */
export function notificationSms({
  config,
  db,
  logger,
  clock,
  rateLimitStore,
}: NotificationSmsWiring): SmsStack {
  return smsStack({
    config,
    db,
    table: NOTIFICATION_SMS_QUEUE_TABLE,
    name: 'notification-sms',
    logger,
    clock,
    rateLimitStore,
  });
}
