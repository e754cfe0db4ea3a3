// Table types for Kysely. Each role owns its tables (db/roles.ts TABLE_OWNERS, checked by
// test/table-owners.test.ts); no role reads another's tables, so each role can have a
// database of its own (cluster mode).
import type { ColumnType, Generated, Kysely } from 'kysely';

type Timestamp = ColumnType<Date, Date | string, Date | string>;
type CreatedAt = ColumnType<Date, Date | string | undefined, never>;

/** users service */
export interface UsersTable {
  id: string;
  email: string;
  password_hash: string;
  role: 'user' | 'admin';
  created_at: CreatedAt;
}

/** catalog service */
export interface CategoriesTable {
  id: Generated<number>;
  slug: string;
  name: string;
}

/** catalog service */
export interface ProductsTable {
  id: Generated<number>;
  category_id: number;
  name: string;
  description: string;
  price_cents: number;
  created_at: CreatedAt;
}

/** gateway: product page reads, per product. */
export interface ProductViewsTable {
  product_id: number;
  views: number;
}

/** inventory service: units available to sell, per product. */
export interface InventoryTable {
  product_id: number;
  available: number;
  updated_at: Timestamp;
}

/** inventory service: stock taken out of `available` for one order, until released or committed. */
export interface ReservationsTable {
  reservation_id: string;
  product_id: number;
  quantity: number;
  status: 'reserved' | 'committed' | 'released';
  created_at: CreatedAt;
  updated_at: Timestamp;
}

export type OrderStatus = 'pending_payment' | 'paid' | 'cancelled';

/** orders service */
export interface OrdersTable {
  order_no: string;
  user_id: string;
  request_id: string;
  status: OrderStatus;
  total_cents: number;
  cancel_reason: 'user' | 'timeout' | null;
  expires_at: Timestamp;
  created_at: Timestamp;
  updated_at: Timestamp;
  paid_at: Timestamp | null;
  cancelled_at: Timestamp | null;
  /** The payment that paid it (markPaid is idempotent per payment). */
  paid_by: ColumnType<string | null, string | null | undefined, string | null>;
}

/** orders service */
export interface OrderItemsTable {
  order_no: string;
  product_id: number;
  name: string;
  unit_price_cents: number;
  quantity: number;
}

export type PaymentStatus = 'created' | 'succeeded' | 'refund_pending' | 'refunded';

/** payments service */
export interface PaymentsTable {
  id: string;
  order_no: string;
  user_id: string;
  amount_cents: number;
  status: PaymentStatus;
  provider_payment_id: string | null;
  pay_url: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

/** payments service: every provider callback ever received, by the provider's event id. */
export interface PaymentEventsTable {
  event_id: string;
  payment_id: string;
  received_at: Timestamp;
  outcome: string;
  payload: string;
}

/** users service: the phone linked to an account (SMS-code login). */
export interface UserPhonesTable {
  user_id: string;
  phone: string;
  linked_at: Timestamp;
}

/** notifications service: the buyer was told about this order. */
export interface NotificationsTable {
  order_no: string;
  user_id: string;
  /** `sms` or `log`. */
  channel: string;
  sent_at: Timestamp;
}

export interface Database {
  users: UsersTable;
  categories: CategoriesTable;
  products: ProductsTable;
  product_views: ProductViewsTable;
  inventory: InventoryTable;
  inventory_reservations: ReservationsTable;
  orders: OrdersTable;
  order_items: OrderItemsTable;
  payments: PaymentsTable;
  payment_events: PaymentEventsTable;
  user_phones: UserPhonesTable;
  notifications: NotificationsTable;
}

/** The database or a transaction on it: services accept either, so callers can compose a unit of work. */
export type Db = Kysely<Database>;
