// `npm run shop -- --cluster`: the infrastructure (infra.ts), the database migrated once,
// then every service instance as its own process (supervisor.ts running service-main),
// registered in etcd. The gateway (the HTTP shop) runs in the launcher's own process,
// started by main.ts with `gatewayEnv`; stopping the launcher stops everything.
import { randomBytes } from 'node:crypto';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../config.js';
import { openDatabase } from '../db/database.js';
import { type ClusterControl, clusterControl } from './control.js';
import { type InfraOptions, planInfra, type RunningInfra, startInfra } from './infra.js';
import { CLUSTER_ROLES } from './roles.js';
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
}

export interface RunningCluster {
  readonly infra: RunningInfra;
  /** The service instances: kill, scale up (`start(role)`), set a weight (`send`). */
  readonly supervisor: Supervisor;
  /** Kill, scale up, set a weight: what the ops page may do. */
  readonly control: ClusterControl;
  /** The environment the gateway (and every instance) runs with: infrastructure, gRPC transport. */
  readonly gatewayEnv: Record<string, string>;
  /** Lines describing the infrastructure and each instance, for the banner. */
  describe(): string[];
  /** Stops the instances, then the infrastructure. */
  close(): Promise<void>;
}

const SERVICE_MAIN = fileURLToPath(
  new URL(`./service-main${extname(fileURLToPath(import.meta.url))}`, import.meta.url),
);

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

  const infra = await startInfra(options);
  const supervisor = createSupervisor(
    Object.fromEntries(
      CLUSTER_ROLES.map(({ role }) => [role, { entry: options.serviceEntry ?? SERVICE_MAIN }]),
    ),
    { output: options.output, execArgv: options.execArgv },
  );
  const gatewayEnv: Record<string, string> = {
    DATABASE_URL: infra.endpoints.databaseUrl,
    REDIS_URL: infra.endpoints.redisUrl,
    ETCD_ENDPOINTS: infra.endpoints.etcdEndpoints.join(','),
    SHOP_TRANSPORT: 'grpc',
    // One signing key for all: a token the gateway issues must verify on every instance,
    // and a payment callback must verify wherever it lands.
    SHOP_JWT_SECRET: env.SHOP_JWT_SECRET || randomBytes(32).toString('base64url'),
    SHOP_PAYMENT_SECRET: env.SHOP_PAYMENT_SECRET || randomBytes(24).toString('base64url'),
  };
  // The instances see the environment the launcher was given (the shop's SHOP_* settings).
  const envOf = (role: string): Record<string, string> => ({
    ...(Object.fromEntries(Object.entries(env).filter((entry) => entry[1] !== undefined)) as Record<
      string,
      string
    >),
    ...gatewayEnv,
    SHOP_ROLE: role,
  });
  const close = async () => {
    await supervisor.close();
    await infra.close();
  };
  try {
    // Migrate once here, so the instances do not race each other to do it.
    const config = loadConfig({ ...env, ...gatewayEnv });
    const database = await openDatabase(config.database);
    await database.close();
    await Promise.all(
      CLUSTER_ROLES.flatMap(({ role, count }) =>
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
