// One service's gRPC server: the server interceptors, the service's binding, a loopback
// port, and its registration (with its weight) in a registry: memory in one process,
// etcd when each service runs as its own process (the cluster launcher calls this from
// each child).
import { Server, ServerCredentials, type ServerInterceptor } from '@grpc/grpc-js';
import type { Clock } from 'girder/core';
import {
  type AccessVerifier,
  authClaimsOf,
  authInterceptor,
  rateLimitInterceptor,
  type ServerCallInfo,
  type ServerEventsInterceptor,
  serverEventsInterceptor,
  traceContextServerInterceptor,
} from 'girder/grpc';
import { slidingWindow } from 'girder/ratelimit';
import type { Registration, Registry } from 'girder/registry';
import type { CatalogService } from '../catalog/service.js';
import type { ShopConfig } from '../config.js';
import type { InventoryService } from '../inventory/service.js';
import type { NotificationsService } from '../notifications/service.js';
import type { OrdersService } from '../orders/service.js';
import type { PaymentsService } from '../payments/service.js';
import type { PhonesService } from '../users/phones.js';
import type { UsersService } from '../users/service.js';
import { bindCatalog } from './catalog.js';
import { bindInventory } from './inventory.js';
import { clientOf } from './kit.js';
import { bindNotifications } from './notifications.js';
import { bindOrders, ORDERS_USER_METHODS } from './orders.js';
import { bindPayments, PAYMENTS_USER_METHODS } from './payments.js';
import { type ServiceName, shopProtos } from './protos.js';
import { bindUsers } from './users.js';

/** What each service node serves. */
export interface ServiceImplementations {
  users: { users: UsersService; phones: PhonesService };
  catalog: CatalogService;
  inventory: InventoryService;
  orders: OrdersService;
  payments: PaymentsService;
  notifications: NotificationsService;
}

export interface ServiceNodeOptions<N extends ServiceName> {
  /** Where the node registers (`memoryRegistry()` in one process, `etcdRegistry` across). */
  registry: Registry;
  /** The service object the node serves. */
  implementation: ServiceImplementations[N];
  /** Verifies the user tokens of calls that carry a user (the shop's TokenService). */
  verifier: AccessVerifier;
  /** Interface to listen on. Default `127.0.0.1`. */
  host?: string;
  /** Port. Default 0 (a free one). */
  port?: number;
  /** Counts every call this node serves; default a new one per node. */
  events?: ServerEventsInterceptor;
  clock?: Clock;
}

export interface ServiceNode {
  readonly service: ServiceName;
  /** `host:port` it serves and registered on. */
  readonly address: string;
  readonly server: Server;
  readonly registration: Registration;
  /** The server's call events (method, code, duration). */
  readonly events: ServerEventsInterceptor;
  /** Deregister, let calls in flight finish (at most `drainMs`), then stop. */
  close(drainMs?: number): Promise<void>;
}

/** Methods whose calls carry a user: the auth interceptor requires a token on these only. */
const USER_METHODS: Record<ServiceName, readonly string[]> = {
  users: [],
  catalog: [],
  inventory: [],
  orders: ORDERS_USER_METHODS,
  payments: PAYMENTS_USER_METHODS,
  notifications: [],
};

function bind<N extends ServiceName>(server: Server, name: N, impl: ServiceImplementations[N]) {
  const i = impl as ServiceImplementations[ServiceName];
  switch (name) {
    case 'users': {
      const u = i as ServiceImplementations['users'];
      return bindUsers(server, u.users, u.phones);
    }
    case 'catalog':
      return bindCatalog(server, i as CatalogService);
    case 'inventory':
      return bindInventory(server, i as InventoryService);
    case 'orders':
      return bindOrders(server, i as OrdersService);
    case 'payments':
      return bindPayments(server, i as PaymentsService);
    case 'notifications':
      return bindNotifications(server, i as NotificationsService);
  }
}

/** Every method path of a service's proto services. */
function methodsOf(name: ServiceName): string[] {
  const definitions = Object.values(shopProtos()[name]);
  return definitions.flatMap((d) => Object.values(d.service).map((m) => m.path));
}

/**
 * Whose bucket a call is charged to: the verified user (`user:<sub>`) on the calls that
 * carry one; else the end client the gateway made it for (`client:<ip>`, CLIENT_METADATA:
 * sign-up, sign-in, catalog reads); else `internal` (the shop's own work: seeding, sweeps,
 * consumers). Never one bucket for everything the gateway forwards: its fan-in would
 * make one busy client, or a start-up burst, refuse everybody else.
 */
export function rateLimitKey(call: ServerCallInfo): string {
  const sub = authClaimsOf(call)?.sub;
  const client = clientOf(call);
  const who =
    sub !== undefined ? `user:${sub}` : client !== undefined ? `client:${client}` : 'internal';
  return `${who}:${call.method}`;
}

/**
 * Start one service's gRPC server with the server interceptors (trace context, call events, JWT auth on
 * the methods that carry a user, a rate limit per caller and method), then register it
 * in `registry` under its name with `config.rpc.weight`.
 */
export async function startServiceNode<N extends ServiceName>(
  name: N,
  config: ShopConfig,
  options: ServiceNodeOptions<N>,
): Promise<ServiceNode> {
  const events = options.events ?? serverEventsInterceptor({ name: `${name}-server` });
  const userMethods = new Set(USER_METHODS[name]);
  const limiter = slidingWindow({
    ...config.rpc.rateLimit,
    name: `rpc-${name}`,
    ...(options.clock && { clock: options.clock }),
  });
  const interceptors: ServerInterceptor[] = [
    // The caller's trace context, active for everything after it (the handler included).
    traceContextServerInterceptor(),
    events,
    authInterceptor(options.verifier, {
      publicMethods: methodsOf(name).filter((m) => !userMethods.has(m)),
    }),
    // After auth: each end user's or end client's calls have their own quota per method.
    rateLimitInterceptor(limiter, { key: rateLimitKey }),
  ];
  const server = new Server({ interceptors });
  bind(server, name, options.implementation);
  const host = options.host ?? '127.0.0.1';
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${host}:${options.port ?? 0}`, ServerCredentials.createInsecure(), (e, p) =>
      e ? reject(e) : resolve(p),
    ),
  );
  const address = `${host}:${port}`;
  let registration: Registration;
  try {
    registration = await options.registry.register({
      service: name,
      address,
      weight: config.rpc.weight,
      metadata: { pid: String(process.pid) },
    });
  } catch (err) {
    server.forceShutdown();
    throw err;
  }
  let closing: Promise<void> | undefined;
  return {
    service: name,
    address,
    server,
    registration,
    events,
    close(drainMs = 0) {
      closing ??= (async () => {
        await registration.deregister({ drainMs }).catch(() => {});
        await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
      })();
      return closing;
    },
  };
}
