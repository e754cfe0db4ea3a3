// The shop's roles and the tables each one owns. One list, used by the migrations (each
// role migrates its own tables, in its own migration table), by the cluster (one database
// per role) and by the conventions test that keeps every role out of the others' tables.

/** The six services and the gateway (BFF), in the order their migrations run. */
export const SHOP_ROLES = [
  'users',
  'catalog',
  'inventory',
  'orders',
  'payments',
  'notifications',
  'gateway',
] as const;

/** One of {@link SHOP_ROLES}. */
export type ShopRole = (typeof SHOP_ROLES)[number];

/** The girder/sms queue table (`sqlSmsQueue`), the gateway's. */
export const SMS_QUEUE_TABLE = 'sms_queue';
/**
 * The notifications service's girder/sms queue table: order-paid SMS that could not be
 * sent at once, in a cluster (in one process they go through the gateway's stack).
 */
export const NOTIFICATION_SMS_QUEUE_TABLE = 'notification_sms_queue';
/** The girder/mq outbox table, the payments service's. */
export const OUTBOX_TABLE = 'outbox';
/** Idempotency marks of the notifications consumer. */
export const NOTIFIED_TABLE = 'notified_orders';
/** Idempotency marks of the popular-sales consumer (gateway). */
export const SALES_COUNTED_TABLE = 'sales_counted_orders';

/** Every table of the shop and the one role that reads and writes it. */
export const TABLE_OWNERS = {
  users: 'users',
  user_phones: 'users',
  categories: 'catalog',
  products: 'catalog',
  inventory: 'inventory',
  inventory_reservations: 'inventory',
  orders: 'orders',
  order_items: 'orders',
  payments: 'payments',
  payment_events: 'payments',
  [OUTBOX_TABLE]: 'payments',
  notifications: 'notifications',
  [NOTIFIED_TABLE]: 'notifications',
  [NOTIFICATION_SMS_QUEUE_TABLE]: 'notifications',
  [SMS_QUEUE_TABLE]: 'gateway',
  product_views: 'gateway',
  [SALES_COUNTED_TABLE]: 'gateway',
} as const satisfies Record<string, ShopRole>;

/** A table of the shop. */
export type ShopTable = keyof typeof TABLE_OWNERS;

/** Whether `value` names a role. */
export const isShopRole = (value: unknown): value is ShopRole =>
  typeof value === 'string' && (SHOP_ROLES as readonly string[]).includes(value);

/** The tables `role` owns, sorted. */
export function tablesOf(role: ShopRole): ShopTable[] {
  return (Object.keys(TABLE_OWNERS) as ShopTable[]).filter((t) => TABLE_OWNERS[t] === role).sort();
}

/**
 * `roles` checked (an unknown name throws, naming it), without repeats, in
 * {@link SHOP_ROLES} order.
 */
export function normalizeRoles(roles: Iterable<string>): ShopRole[] {
  const wanted = new Set<string>();
  for (const role of roles) {
    if (!isShopRole(role)) {
      throw new Error(`unknown shop role "${role}" (roles: ${SHOP_ROLES.join(', ')})`);
    }
    wanted.add(role);
  }
  return SHOP_ROLES.filter((r) => wanted.has(r));
}
