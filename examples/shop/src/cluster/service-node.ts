// The one place where a cluster child depends on the shop's services
// (../compose/service.ts): compose this process's role and start its node, registered in
// etcd with its weight. Everything else in cluster/ only needs a RoleNode.
import { composeService } from '../compose/service.js';
import type { ShopConfig } from '../config.js';

/** A running service instance, as the cluster sees it. */
export interface RoleNode {
  /** `host:port` it serves gRPC on (and is registered with). */
  readonly address: string;
  /** Its current weight in the registry. */
  readonly weight: number;
  /** Changes its weight in the registry; the gateway's balancer follows. */
  setWeight(weight: number): Promise<void>;
  /** Deregisters, lets calls in flight finish, and stops. */
  close(): Promise<void>;
}

/** Printed by `--cluster` when the services cannot run as their own gRPC processes. */
export const SERVICES_NOT_READY =
  'services over gRPC are not ready: a service cannot be composed on its own in a process in this build, so `--cluster` stops here. Run `npm run shop` meanwhile.';

/** Whether this build can start the services as gRPC nodes (see startRoleNode). */
export const SERVICE_NODES_READY: boolean = true;

/**
 * Composes `role` on its own (../compose/service.ts: its database, the Redis backends,
 * clients of the services it calls over etcd, its background work) and starts its gRPC
 * node on a free loopback port, registered in etcd (`config.cluster.etcdEndpoints`,
 * ETCD_ENDPOINTS) with `config.rpc.weight`. `config.cluster.gatewayUrl`
 * (SHOP_GATEWAY_URL) says where the gateway is (the payments role calls the mock
 * provider there).
 */
export async function startRoleNode(role: string, config: ShopConfig): Promise<RoleNode> {
  const { etcdEndpoints, gatewayUrl } = config.cluster;
  if (!etcdEndpoints) throw new Error('ETCD_ENDPOINTS is not set');
  if (!gatewayUrl) throw new Error('SHOP_GATEWAY_URL is not set');
  const service = await composeService(role, { config, etcdEndpoints, gatewayUrl });
  let weight = config.rpc.weight;
  return {
    address: service.node.address,
    get weight() {
      return weight;
    },
    async setWeight(next) {
      await service.setWeight(next);
      weight = next;
    },
    close: () => service.close(),
  };
}
