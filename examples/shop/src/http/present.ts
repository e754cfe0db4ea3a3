// How resources look in JSON.
import type { Product } from '../catalog/service.js';
import type { Order } from '../orders/service.js';
import type { Payment } from '../payments/service.js';
import type { User } from '../users/service.js';

export const presentUser = (u: User) => ({
  id: u.id,
  email: u.email,
  role: u.role,
  createdAt: u.createdAt.toISOString(),
});

export const presentProduct = (p: Product, stock: number) => ({ ...p, stock });

const iso = (d: Date | null) => (d === null ? null : d.toISOString());

export const presentOrder = (o: Order, payments?: Payment[]) => ({
  orderNo: o.orderNo,
  status: o.status,
  totalCents: o.totalCents,
  items: o.items,
  requestId: o.requestId,
  createdAt: iso(o.createdAt),
  expiresAt: iso(o.expiresAt),
  paidAt: iso(o.paidAt),
  cancelledAt: iso(o.cancelledAt),
  cancelReason: o.cancelReason,
  ...(payments && {
    payments: payments.map((p) => ({
      id: p.id,
      status: p.status,
      amountCents: p.amountCents,
      createdAt: iso(p.createdAt),
    })),
  }),
});
