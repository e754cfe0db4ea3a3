// The ops page's cluster panel: per service, every instance as three sources see it,
// joined by address:
//   - the registry (what the gateway's resolver follows): registered or not, weight, and
//     whether the discovery's view is stale (etcd unreachable: the last list stays in use);
//   - the control (cluster/control.ts): the instance's id, pid and whether it runs;
//   - the balancer: the picks each address got, overall and over the recent window.
// Plus the client-side breaker in front of each service.
import type { BreakerState } from 'girder/breaker';
import type { Clock } from 'girder/core';
import type { Discovery } from 'girder/registry';
import type { ClusterControl } from '../cluster/control.js';
import type { InstanceState } from '../cluster/supervisor.js';
import type { ShopRpc } from '../compose/rpc.js';
import { SERVICE_NAMES } from '../rpc/protos.js';
import { swrrSplit } from './swrr-split.js';

/** One instance on the panel. */
export interface ClusterInstanceView {
  /** The control's id (`orders#2`); undefined for an instance registered by someone else. */
  id: string | undefined;
  address: string;
  /** The registry's id of its registration, while registered. */
  registryId: string | undefined;
  /** Its weight in the registry (while registered), else the last one it reported. */
  weight: number | undefined;
  pid: number | undefined;
  /** `up`/`exited` as the control sees it; undefined when the control does not know it. */
  state: InstanceState | undefined;
  /** How it ended: a signal or `code N`. */
  exit: string | undefined;
  /**
   * `registered`: in the registry's current list; `stale`: in a list the discovery could
   * not refresh; `gone`: no longer registered (deregistered, or its lease ran out).
   */
  lease: 'registered' | 'stale' | 'gone';
  /** Balancer picks since the gateway started. */
  picks: number;
  /** Picks within the window. */
  recent: number;
  /** `recent` over the service's recent picks (0 to 1). */
  share: number;
}

/** One service on the panel. */
export interface ClusterServiceView {
  name: string;
  /** The discovery's stale flag. */
  stale: boolean;
  /** The gateway's breaker in front of it. */
  breaker: { name: string; state: BreakerState };
  instances: ClusterInstanceView[];
}

/** What `GET /api/admin/cluster` answers. */
export interface ClusterSnapshot {
  at: number;
  mode: ClusterControl['mode'] | 'none';
  /** The window `recent` and `share` count over. */
  windowMs: number;
  services: ClusterServiceView[];
}

export interface ClusterOps {
  snapshot(): ClusterSnapshot;
  stop(): Promise<void>;
}

/** Start following `rpc` (before the gateway's first call, so every pick is counted). */
export function clusterOps(
  rpc: Pick<ShopRpc, 'registry' | 'balancers' | 'breakers'>,
  options: { clock: Clock; control?: ClusterControl | undefined; windowMs?: number },
): ClusterOps {
  const split = swrrSplit(rpc.balancers, options);
  const discoveries = new Map<string, Discovery>(
    SERVICE_NAMES.map((name) => [name, rpc.registry.discover(name)]),
  );

  return {
    snapshot() {
      const picks = new Map(split.sample().map((p) => [p.address, p]));
      const control = options.control;
      const controlled = control?.instances() ?? [];
      const services = SERVICE_NAMES.map((name): ClusterServiceView => {
        const discovery = discoveries.get(name)!;
        const registered = new Map(discovery.instances().map((i) => [i.address, i]));
        const rows = new Map<string, ClusterInstanceView>();
        const row = (address: string): ClusterInstanceView => {
          let r = rows.get(address);
          if (r === undefined) {
            const p = picks.get(address);
            r = {
              id: undefined,
              address,
              registryId: undefined,
              weight: undefined,
              pid: undefined,
              state: undefined,
              exit: undefined,
              lease: 'gone',
              picks: p?.total ?? 0,
              recent: p?.recent ?? 0,
              share: 0,
            };
            rows.set(address, r);
          }
          return r;
        };
        for (const info of controlled) {
          if (info.role !== name || typeof info.facts.address !== 'string') continue;
          const r = row(info.facts.address);
          const weight = info.facts.weight;
          Object.assign(r, {
            id: info.id,
            pid: info.pid,
            state: info.state,
            weight: typeof weight === 'number' ? weight : undefined,
            exit: info.signal ?? (info.exitCode === null ? undefined : `code ${info.exitCode}`),
          });
        }
        for (const [address, instance] of registered) {
          const r = row(address);
          r.registryId = instance.id;
          r.weight = instance.weight;
          r.lease = discovery.stale ? 'stale' : 'registered';
          if (r.pid === undefined && instance.metadata.pid) r.pid = Number(instance.metadata.pid);
        }
        const instances = [...rows.values()];
        const recent = instances.reduce((n, r) => n + r.recent, 0);
        for (const r of instances) r.share = recent > 0 ? r.recent / recent : 0;
        const breaker = rpc.breakers[name];
        return {
          name,
          stale: discovery.stale,
          breaker: { name: breaker.name, state: breaker.state },
          instances,
        };
      });
      return {
        at: Date.now(),
        mode: control?.mode ?? 'none',
        windowMs: split.windowMs,
        services,
      };
    },
    async stop() {
      split.stop();
      await Promise.all([...discoveries.values()].map((d) => d.close()));
    },
  };
}
