// The cluster's layout: which services run as their own processes, and how many of each.
// Two instances of inventory and orders, so killing one shows traffic moving to the other.

export interface RoleCount {
  role: string;
  count: number;
}

export const CLUSTER_ROLES: readonly RoleCount[] = [
  { role: 'users', count: 1 },
  { role: 'catalog', count: 1 },
  { role: 'inventory', count: 2 },
  { role: 'orders', count: 2 },
  { role: 'payments', count: 1 },
  { role: 'notifications', count: 1 },
];

/** A request the launcher (or the ops page, through it) sends a service instance. */
export type InstanceRequest = { type: 'set-weight'; weight: number } | { type: 'describe' };
