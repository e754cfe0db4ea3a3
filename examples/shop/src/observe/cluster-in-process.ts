// The ops page's cluster control for the one-process shop over gRPC (SHOP_TRANSPORT=grpc):
// the "instances" are the service nodes of compose/rpc.ts, each its own gRPC server on
// loopback, registered in the memory registry. Same contract as the supervisor-backed
// control of `--cluster` (cluster/control.ts):
//   - kill SIGTERM: deregister, drain, stop the server (a graceful stop);
//   - kill SIGKILL: force the server down and leave its registration behind, as a crashed
//     process leaves its etcd lease; the registration goes when the "lease" runs out
//     (`crashLeaseMs`), the way etcd would drop it after the TTL;
//   - +1: one more node of the service, serving the same implementation;
//   - weight: the node's registration is updated, the gateway's balancer follows.
import type { Http2Session } from 'node:http2';
import type { Socket } from 'node:net';
import type { Server } from '@grpc/grpc-js';
import type { Clock } from 'girder/core';
import { ClusterActionError, type ClusterControl, checkWeight } from '../cluster/control.js';
import type { InstanceInfo, InstanceState } from '../cluster/supervisor.js';
import type { ShopRpc } from '../compose/rpc.js';
import type { ServiceNode } from '../rpc/node.js';
import { SERVICE_NAMES, type ServiceName } from '../rpc/protos.js';

export interface InProcessClusterOptions {
  clock: Clock;
  /** How long a crashed node's registration outlives it. Default 5 000 ms. */
  crashLeaseMs?: number;
  /** How long a graceful stop lets calls in flight finish. Default 500 ms. */
  drainMs?: number;
}

/**
 * What a process crash does to its gRPC server: the connections drop (the kernel closes
 * a dead process's sockets), so calls in flight end UNAVAILABLE ("connection dropped")
 * and the callers' retry moves them elsewhere. grpc-js's `forceShutdown` alone would
 * cancel them instead (CANCELLED, not retried), which no crash does. It keeps its
 * sessions private; this is a demo's fault injection, not production code.
 */
function crash(server: Server): void {
  const sessions = (server as unknown as { sessions?: Map<Http2Session, unknown> }).sessions;
  for (const session of sessions?.keys() ?? []) {
    // `session.socket` is a proxy that refuses `destroy`; the socket itself sits behind
    // Node's own symbol.
    const key = Object.getOwnPropertySymbols(session).find((k) => k.description === 'socket');
    const socket = key && (session as unknown as Record<symbol, Socket | undefined>)[key];
    socket?.destroy();
  }
  server.forceShutdown();
}

interface Tracked {
  id: string;
  node: ServiceNode;
  state: InstanceState;
  signal: NodeJS.Signals | null;
  exitCode: number | null;
}

/** A ClusterControl over the nodes of `rpc` (call after `rpc.serve`; later nodes are picked up too). */
export function inProcessCluster(
  rpc: ShopRpc,
  { clock, crashLeaseMs = 5_000, drainMs = 500 }: InProcessClusterOptions,
): ClusterControl {
  const tracked = new Map<ServiceNode, Tracked>();
  const counts = new Map<string, number>();

  // Nodes get their ids in the order they appear: `orders#1`, `orders#2`, ...
  const sync = (): Tracked[] => {
    for (const node of rpc.nodes) {
      if (tracked.has(node)) continue;
      const n = (counts.get(node.service) ?? 0) + 1;
      counts.set(node.service, n);
      tracked.set(node, {
        id: `${node.service}#${n}`,
        node,
        state: 'running',
        signal: null,
        exitCode: null,
      });
    }
    return [...tracked.values()];
  };
  const info = (t: Tracked): InstanceInfo => ({
    id: t.id,
    role: t.node.service,
    pid: process.pid,
    state: t.state,
    exitCode: t.exitCode,
    signal: t.signal,
    facts: { address: t.node.address, weight: t.node.registration.instance.weight },
  });
  const find = (id: string): Tracked => {
    const t = sync().find((x) => x.id === id);
    if (t === undefined) throw new ClusterActionError(404, `no instance ${id}`);
    return t;
  };
  const running = (id: string): Tracked => {
    const t = find(id);
    if (t.state !== 'running') throw new ClusterActionError(409, `${id} is not running`);
    return t;
  };

  return {
    mode: 'in-process',
    instances: () => sync().map(info),
    async kill(id, signal = 'SIGTERM') {
      const t = running(id);
      t.state = 'stopping';
      if (signal === 'SIGKILL') {
        crash(t.node.server);
        // systemClock timers are unref'd: a pending "lease" never holds the process open.
        clock.setTimeout(() => {
          void t.node.registration.deregister().catch(() => {});
        }, crashLeaseMs);
        Object.assign(t, { state: 'exited', signal: 'SIGKILL' });
      } else {
        await t.node.close(drainMs);
        Object.assign(t, { state: 'exited', exitCode: 0 });
      }
      return info(t);
    },
    async scaleUp(role) {
      if (!(SERVICE_NAMES as readonly string[]).includes(role)) {
        throw new ClusterActionError(404, `no service ${role}`);
      }
      if (rpc.nodes.length === 0) {
        throw new ClusterActionError(409, 'this process serves no services (they run elsewhere)');
      }
      const node = await rpc.startNode(role as ServiceName);
      const t = sync().find((x) => x.node === node);
      if (t === undefined) throw new Error(`${role}: the new node is not listed`);
      return info(t);
    },
    async setWeight(id, weight) {
      checkWeight(weight);
      const { node } = running(id);
      await node.registration.update({ ...node.registration.instance.metadata }, { weight });
      return node.registration.instance.weight;
    },
  };
}
