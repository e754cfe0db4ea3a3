// The one place where a cluster child depends on the shop's gRPC layer
// (examples/shop/src/rpc): start this process's service node, registered in etcd with
// its weight. Everything else in cluster/ only needs a RoleNode.
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

/** Printed by `--cluster` while the services cannot run as their own gRPC processes. */
export const SERVICES_NOT_READY =
  'services over gRPC are not ready yet: each service runs on its own gRPC server inside one process (SHOP_TRANSPORT=grpc), but a service cannot yet be composed on its own in a process, nor the gateway reach the services through etcd, so `--cluster` stops here. Run `npm run shop` (or SHOP_TRANSPORT=grpc npm run shop) meanwhile.';

/** Whether this build can start the services as gRPC nodes (see startRoleNode). */
export const SERVICE_NODES_READY: boolean = false;

/**
 * Starts `role`'s gRPC service node on a free loopback port, registered in etcd
 * (ETCD_ENDPOINTS) with `config.rpc.weight`. To come: compose the role's service on its
 * own (database, backends, clients of the services it calls over etcd), then
 * `startServiceNode(role, config, { registry: etcdRegistry(...), implementation, verifier })`
 * from ../rpc/node.js, and map `setWeight` to `registration.update(metadata, { weight })`.
 */
export async function startRoleNode(role: string, _config: ShopConfig): Promise<RoleNode> {
  throw new Error(`${role}: ${SERVICES_NOT_READY}`);
}
