// The services over gRPC (SHOP_TRANSPORT=grpc), inside one process: each service gets
// its own gRPC server on 127.0.0.1:0 (./rpc/node.ts), registered in a memoryRegistry()
// with its weight; the gateway and the services reach each other through clients on
// `etcd:///<service>` (girder/grpc's resolver over that registry) balanced by
// `girder_swrr`, each behind the client interceptors:
//
//   call events (metrics, tracing) -> trace context -> deadline -> retry (with a budget)
//   -> breaker
//
// The clients implement the services' own interfaces, so the HTTP layer cannot tell.
import { type Client, credentials } from '@grpc/grpc-js';
import { type Breaker, circuitBreaker, consecutiveFailures } from 'girder/breaker';
import { type Clock, exponential } from 'girder/core';
import { type RetryBudget, retryBudget } from 'girder/failover';
import {
  type AccessVerifier,
  type BalancerPolicies,
  breakerInterceptor,
  deadlineInterceptor,
  type EtcdResolver,
  type EventsInterceptor,
  eventsInterceptor,
  girderChannelOptions,
  registerBalancers,
  registerEtcdResolver,
  retryInterceptor,
  type ServerEventsInterceptor,
  serverEventsInterceptor,
  traceContextInterceptor,
} from 'girder/grpc';
import { memoryRegistry, type Registry } from 'girder/registry';
import { Counter, Histogram, type Registry as Metrics } from 'prom-client';
import type { CatalogService } from '../catalog/service.js';
import type { ShopConfig } from '../config.js';
import type { InventoryService } from '../inventory/service.js';
import type { NotificationsService } from '../notifications/service.js';
import type { OrdersService } from '../orders/service.js';
import type { PaymentsService } from '../payments/service.js';
import { catalogClient } from '../rpc/catalog.js';
import { inventoryClient } from '../rpc/inventory.js';
import { type ServiceImplementations, type ServiceNode, startServiceNode } from '../rpc/node.js';
import { notificationsClient } from '../rpc/notifications.js';
import { ordersClient } from '../rpc/orders.js';
import { paymentsClient } from '../rpc/payments.js';
import { SERVICE_NAMES, type ServiceName, shopProtos } from '../rpc/protos.js';
import { phonesClient, usersClient } from '../rpc/users.js';
import type { PhonesService } from '../users/phones.js';
import type { UsersService } from '../users/service.js';

/** The services as the gateway (and the services themselves) call them: over gRPC. */
export interface RpcClients {
  users: UsersService;
  phones: PhonesService;
  catalog: CatalogService;
  inventory: InventoryService;
  orders: OrdersService;
  payments: PaymentsService;
  notifications: NotificationsService;
}

export interface ShopRpc {
  /** Where the service nodes register (memory: one process). */
  readonly registry: Registry;
  readonly resolver: EtcdResolver;
  readonly balancers: BalancerPolicies;
  /** One event per client call, every service (`call`: method, code, duration). */
  readonly calls: EventsInterceptor;
  /** One event per call served, every node. */
  readonly served: ServerEventsInterceptor;
  /** The client-side breaker in front of each service. */
  readonly breakers: Readonly<Record<ServiceName, Breaker>>;
  /** The retry budget all clients share. */
  readonly budget: RetryBudget;
  readonly clients: RpcClients;
  /** The running nodes (after `serve`). */
  readonly nodes: readonly ServiceNode[];
  /** Start one node per service, serving `implementations`. */
  serve(implementations: ServiceImplementations): Promise<void>;
  /** Start the node of one service only (a cluster instance serves its own role). */
  serveOne<N extends ServiceName>(
    name: N,
    implementation: ServiceImplementations[N],
  ): Promise<ServiceNode>;
  /** One more node of `name` (after `serve`), serving the same implementation (ops page: +1). */
  startNode(name: ServiceName): Promise<ServiceNode>;
  /** Stop the nodes, the channels and the resolver. */
  close(): Promise<void>;
}

export interface RpcOptions {
  config: ShopConfig;
  /** Verifies the user tokens forwarded on calls that carry a user. */
  verifier: AccessVerifier;
  clock: Clock;
  /**
   * Where the nodes register and the clients look (closed by `close()`). Default a
   * memoryRegistry (one process); an etcdRegistry when each service is its own process.
   */
  registry?: Registry;
}

/** Wire the gRPC transport: clients now (they connect lazily), nodes on `serve`. */
export function startRpc({ config, verifier, clock, ...options }: RpcOptions): ShopRpc {
  const registry = options.registry ?? memoryRegistry({ name: 'shop-services' });
  // Process-wide grpc-js tables: a later shop in this process re-registers the scheme,
  // and channels created afterwards follow its registry.
  const resolver = registerEtcdResolver(registry, { clock });
  const balancers = registerBalancers();
  const calls = eventsInterceptor({ name: 'shop-rpc-client' });
  const served = serverEventsInterceptor({ name: 'shop-rpc-server' });
  const budget = retryBudget({ ratio: 0.2, minPerSec: 10, name: 'shop-rpc' });
  const breakers = Object.fromEntries(
    SERVICE_NAMES.map((name) => [
      name,
      circuitBreaker({
        name: `rpc-${name}`,
        policy: consecutiveFailures({ threshold: 5 }),
        openMs: 5_000,
        clock,
      }),
    ]),
  ) as Record<ServiceName, Breaker>;
  const channelOptions = girderChannelOptions('girder_swrr', {
    channelOptions: { 'grpc.keepalive_time_ms': 10_000, 'grpc.keepalive_timeout_ms': 5_000 },
  });
  const channels: Client[] = [];
  const open = (name: ServiceName, service: string): Client => {
    const protos = shopProtos()[name] as unknown as Record<
      string,
      new (
        ...args: unknown[]
      ) => Client
    >;
    const Ctor = protos[service]!;
    const c = new Ctor(`etcd:///${name}`, credentials.createInsecure(), {
      ...channelOptions,
      interceptors: [
        calls,
        // The caller's span (under tracing: this call's client span) as W3C traceparent.
        traceContextInterceptor(),
        deadlineInterceptor({ timeoutMs: config.rpc.timeoutMs }),
        retryInterceptor({
          maxAttempts: 3,
          backoff: exponential({ initialMs: 20, maxMs: 500 }),
          budget,
          clock,
        }),
        breakerInterceptor(breakers[name]),
      ],
    });
    channels.push(c);
    return c;
  };
  const clients: RpcClients = {
    users: usersClient(open('users', 'Users')),
    phones: phonesClient(open('users', 'Phones')),
    catalog: catalogClient(open('catalog', 'Catalog')),
    inventory: inventoryClient(open('inventory', 'Inventory')),
    orders: ordersClient(open('orders', 'Orders')),
    payments: paymentsClient(open('payments', 'Payments')),
    notifications: notificationsClient(open('notifications', 'Notifications')),
  };
  const nodes: ServiceNode[] = [];
  let servedImplementations: ServiceImplementations | undefined;
  return {
    registry,
    resolver,
    balancers,
    calls,
    served,
    breakers,
    budget,
    clients,
    nodes,
    async serve(implementations) {
      servedImplementations = implementations;
      for (const name of SERVICE_NAMES) await this.serveOne(name, implementations[name]);
    },
    async serveOne(name, implementation) {
      const node = await startServiceNode(name, config, {
        registry,
        implementation,
        verifier,
        events: served,
        clock,
      });
      nodes.push(node);
      return node;
    },
    async startNode(name) {
      if (servedImplementations === undefined) throw new Error('the services are not served yet');
      return this.serveOne(name, servedImplementations[name]);
    },
    async close() {
      for (const c of channels) c.close();
      await Promise.all(nodes.map((n) => n.close()));
      await resolver.close();
      await registry.close();
    },
  };
}

/**
 * The shop's gRPC metrics from the interceptors' events: calls per side, method and
 * status, and their durations. Resolves the unsubscribe.
 */
export function watchRpc(metrics: Metrics, rpc: ShopRpc): () => void {
  const total = new Counter({
    name: 'shop_rpc_calls_total',
    help: 'gRPC calls between the gateway and the services, by side (client/server), method and status.',
    labelNames: ['side', 'method', 'code'],
    registers: [metrics],
  });
  const seconds = new Histogram({
    name: 'shop_rpc_call_seconds',
    help: 'gRPC call durations, by side and method.',
    labelNames: ['side', 'method'],
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [metrics],
  });
  const record =
    (side: 'client' | 'server') =>
    ({
      method,
      codeName,
      durationMs,
    }: {
      method: string;
      codeName: string;
      durationMs: number;
    }) => {
      total.inc({ side, method, code: codeName });
      seconds.observe({ side, method }, durationMs / 1_000);
    };
  const offClient = rpc.calls.events.on('call', record('client'));
  const offServer = rpc.served.events.on('call', record('server'));
  return () => {
    offClient();
    offServer();
  };
}
