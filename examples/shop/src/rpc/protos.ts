// The shop's protos, loaded at run time with @grpc/proto-loader (no generated code: the
// shop is an example, and the adapters in this folder are its typed layer).
import { fileURLToPath } from 'node:url';
import {
  type GrpcObject,
  loadPackageDefinition,
  type ServiceClientConstructor,
} from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';

/** The folder holding `<service>.proto`. */
export const PROTO_DIR = fileURLToPath(new URL('../../proto/', import.meta.url));

/** The shop's services, by the name they register under in the registry. */
export const SERVICE_NAMES = [
  'users',
  'catalog',
  'inventory',
  'orders',
  'payments',
  'notifications',
] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

/** Service definitions per proto package (`shop.<name>.v1`). */
export interface ShopProtos {
  users: { Users: ServiceClientConstructor; Phones: ServiceClientConstructor };
  catalog: { Catalog: ServiceClientConstructor };
  inventory: { Inventory: ServiceClientConstructor };
  orders: { Orders: ServiceClientConstructor };
  payments: { Payments: ServiceClientConstructor };
  notifications: { Notifications: ServiceClientConstructor };
}

let loaded: ShopProtos | undefined;

/** Load (once) the six protos: snake_case fields become camelCase, int64 a number. */
export function shopProtos(): ShopProtos {
  if (loaded) return loaded;
  const definition = loadSync(
    SERVICE_NAMES.map((name) => `${name}.proto`),
    { includeDirs: [PROTO_DIR], keepCase: false, longs: Number, enums: String, defaults: true },
  );
  const root = loadPackageDefinition(definition) as unknown as {
    shop: Record<ServiceName, { v1: GrpcObject }>;
  };
  const pkg = (name: ServiceName) =>
    root.shop[name].v1 as unknown as Record<string, ServiceClientConstructor>;
  loaded = {
    users: { Users: pkg('users').Users!, Phones: pkg('users').Phones! },
    catalog: { Catalog: pkg('catalog').Catalog! },
    inventory: { Inventory: pkg('inventory').Inventory! },
    orders: { Orders: pkg('orders').Orders! },
    payments: { Payments: pkg('payments').Payments! },
    notifications: { Notifications: pkg('notifications').Notifications! },
  };
  return loaded;
}
