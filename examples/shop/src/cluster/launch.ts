// `npm run shop -- --cluster`: the infrastructure (infra.ts), the database migrated once,
// then every service instance as its own process (supervisor.ts running service-main),
// registered in etcd. The gateway (the HTTP shop) runs in the launcher's own process,
// started by main.ts with `gatewayEnv`; stopping the launcher stops everything.
import { randomBytes } from 'node:crypto';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../config.js';
import { openDatabase } from '../db/database.js';
import { isShopRole, SHOP_ROLES, type ShopRole } from '../db/roles.js';
import { createShop, type Shop, type ShopOptions } from '../shop.js';
import { type ClusterControl, clusterControl } from './control.js';
import { type InfraOptions, planInfra, type RunningInfra, startInfra } from './infra.js';
import { freePorts } from './ports.js';
import { CLUSTER_ROLES, type RoleCount } from './roles.js';
import { SERVICE_NODES_READY, SERVICES_NOT_READY } from './service-node.js';
import { createSupervisor, type InstanceInfo, type Supervisor } from './supervisor.js';

/** `--cluster` cannot run in this build; the message says why. */
export class ClusterNotReadyError extends Error {
  constructor() {
    super(SERVICES_NOT_READY);
    this.name = 'ClusterNotReadyError';
  }
}

export interface ClusterOptions extends InfraOptions {
  /** Overrides SERVICE_NODES_READY (tests). */
  servicesReady?: boolean;
  /** Module each instance runs. Default service-main (tests: a stand-in). */
  serviceEntry?: string;
  /** How many instances of each role. Default CLUSTER_ROLES (inventory and orders x2). */
  roles?: readonly RoleCount[];
  /**
   * The port the gateway will listen on (the services call the mock payment provider
   * there). Default PORT from `env`, else 3000; 0 picks a free one now.
   */
  gatewayPort?: number;
}

export interface RunningCluster {
  readonly infra: RunningInfra;
  /** The service instances: kill, scale up (`start(role)`), set a weight (`send`). */
  readonly supervisor: Supervisor;
  /** Kill, scale up, set a weight: what the ops page may do. */
  readonly control: ClusterControl;
  /**
   * The environment the gateway (and every instance) runs with: infrastructure
   * (DATABASE_URL, REDIS_URL, ETCD_ENDPOINTS), SHOP_TRANSPORT=grpc, the shared secrets,
   * and PORT: the gateway must listen there (SHOP_GATEWAY_URL of the instances).
   */
  readonly gatewayEnv: Record<string, string>;
  /** Where the instances reach the gateway (`http://127.0.0.1:<PORT>`). */
  readonly gatewayUrl: string;
  /** Lines describing the infrastructure and each instance, for the banner. */
  describe(): string[];
  /** Stops the instances, then the infrastructure. */
  close(): Promise<void>;
}

const SERVICE_MAIN = fileURLToPath(
  new URL(`./service-main${extname(fileURLToPath(import.meta.url))}`, import.meta.url),
);

const LOOPBACK_OR_ANY = new Set(['127.0.0.1', 'localhost', '0.0.0.0', '::', '::1']);

function instanceLine(info: InstanceInfo): string {
  const { address = '-', weight = '-' } = info.facts;
  const state = info.state === 'running' ? '' : `  (${info.state})`;
  return `    ${info.id.padEnd(16)} ${String(address).padEnd(22)} weight ${String(weight).padEnd(4)} pid ${info.pid}${state}`;
}

/**
 * Starts the infrastructure and every service instance, or throws (InfraMissingError,
 * ClusterNotReadyError, a start failure) having stopped whatever it had started.
 */
export async function startCluster(options: ClusterOptions = {}): Promise<RunningCluster> {
  const env = options.env ?? process.env;
  planInfra(options); // a missing binary is reported before anything starts
  if (!(options.servicesReady ?? SERVICE_NODES_READY)) throw new ClusterNotReadyError();

  const roles = options.roles ?? CLUSTER_ROLES;
  const host = env.HOST?.trim() || '127.0.0.1';
  let port = options.gatewayPort ?? Number(env.PORT?.trim() || 3000);
  if (port === 0) [port] = (await freePorts(1)) as [number];
  const gatewayUrl = `http://${LOOPBACK_OR_ANY.has(host) ? '127.0.0.1' : host}:${port}`;
  // One PostgreSQL database per role (the gateway's included), created if missing.
  const infra = await startInfra({ ...options, roleDatabases: SHOP_ROLES });
  const databaseOf = (role: ShopRole): string => {
    const url = infra.endpoints.roleDatabaseUrls?.[role];
    if (!url) throw new Error(`no database for the ${role} role`);
    return url;
  };
  const supervisor = createSupervisor(
    Object.fromEntries(
      roles.map(({ role }) => [role, { entry: options.serviceEntry ?? SERVICE_MAIN }]),
    ),
    { output: options.output, execArgv: options.execArgv },
  );
  const gatewayEnv: Record<string, string> = {
    // The gateway's own database (sms_queue, product_views, sales_counted_orders).
    DATABASE_URL: databaseOf('gateway'),
    REDIS_URL: infra.endpoints.redisUrl,
    ETCD_ENDPOINTS: infra.endpoints.etcdEndpoints.join(','),
    SHOP_TRANSPORT: 'grpc',
    // One signing key for all: a token the gateway issues must verify on every instance,
    // and a payment callback must verify wherever it lands.
    SHOP_JWT_SECRET: env.SHOP_JWT_SECRET || randomBytes(32).toString('base64url'),
    SHOP_PAYMENT_SECRET: env.SHOP_PAYMENT_SECRET || randomBytes(24).toString('base64url'),
    PORT: String(port),
  };
  // The instances see the environment the launcher was given (the shop's SHOP_* settings).
  const envOf = (role: string): Record<string, string> => ({
    ...(Object.fromEntries(Object.entries(env).filter((entry) => entry[1] !== undefined)) as Record<
      string,
      string
    >),
    ...gatewayEnv,
    DATABASE_URL: isShopRole(role) ? databaseOf(role) : gatewayEnv.DATABASE_URL!,
    SHOP_GATEWAY_URL: gatewayUrl,
    SHOP_ROLE: role,
  });
  const close = async () => {
    await supervisor.close();
    await infra.close();
  };
  try {
    // Migrate each role's database once here, so its instances do not race to do it.
    for (const role of SHOP_ROLES) {
      const database = await openDatabase(
        { kind: 'postgres', url: databaseOf(role), poolSize: 1 },
        { roles: [role] },
      );
      await database.close();
    }
    await Promise.all(
      roles.flatMap(({ role, count }) =>
        Array.from({ length: count }, () => supervisor.start(role, envOf(role))),
      ),
    );
  } catch (err) {
    await close();
    throw err;
  }
  return {
    infra,
    supervisor,
    control: clusterControl(supervisor, envOf),
    gatewayEnv,
    gatewayUrl,
    describe: () => [
      '  infrastructure:',
      ...infra.servers.map(
        (s) =>
          `    ${s.name.padEnd(16)} ${s.address}${
            s.origin.kind === 'started'
              ? `  (started here, pid ${s.origin.pid})`
              : `  (from ${s.origin.variable})`
          }`,
      ),
      '  service instances (gRPC, registered in etcd):',
      ...supervisor.instances().map(instanceLine),
    ],
    close,
  };
}

export interface ClusterShopOptions extends ClusterOptions {
  /** What the gateway is given besides the launcher's environment (`env`) and `gatewayEnv`. */
  shopEnv?: Record<string, string>;
  /** Passed to createShop (a logger, a clock...); `etcdEndpoints` is the cluster's. */
  shop?: Omit<ShopOptions, 'etcdEndpoints' | 'database'>;
}

/** A running cluster and its gateway, listening. */
export interface ClusterShop {
  readonly cluster: RunningCluster;
  /** The gateway (mode `gateway`): HTTP API, web UI, mock payment provider, ops page. */
  readonly shop: Shop;
  /** The gateway's base URL. */
  readonly url: string;
  /** Stops the gateway, then the instances, then the infrastructure. */
  close(): Promise<void>;
}

/**
 * `npm run shop -- --cluster` as a function: {@link startCluster}, then the gateway in this
 * process (createShop in gateway mode on the cluster's environment), listening on the
 * port the instances were told (`gatewayEnv.PORT`; `gatewayPort: 0` picks a free one).
 */
export async function startClusterShop(options: ClusterShopOptions = {}): Promise<ClusterShop> {
  const cluster = await startCluster(options);
  const env = options.env ?? process.env;
  let shop: Shop | undefined;
  try {
    const config = loadConfig({ ...env, ...options.shopEnv, ...cluster.gatewayEnv });
    shop = await createShop(config, {
      cluster: cluster.control, // the ops page's cluster panel acts on the supervisor
      ...options.shop,
      etcdEndpoints: cluster.infra.endpoints.etcdEndpoints,
    });
    const url = await shop.listen();
    const running = shop;
    let closing: Promise<void> | undefined;
    return {
      cluster,
      shop: running,
      url,
      close: () => {
        closing ??= (async () => {
          // The gateway first, so no call goes to an instance that is already gone.
          await running.close().catch(() => {});
          await cluster.close();
        })();
        return closing;
      },
    };
  } catch (err) {
    await shop?.close().catch(() => {});
    await cluster.close();
    throw err;
  }
}
