// The service registry across processes: etcd (ETCD_ENDPOINTS, set by the cluster
// launcher). Every service instance registers there under SHOP_REGISTRY_PREFIX, and the
// gateway and the services find each other there (`etcd:///<service>`).
import { Etcd3 } from 'etcd3';
import { etcdRegistry, type Registry } from 'girder/registry';

/** Where the shop's instances live in etcd: `<prefix>/<service>/<id>`. */
export const SHOP_REGISTRY_PREFIX = 'shop/services';

/**
 * The shop's registry on etcd at `endpoints`. Its `close()` deregisters what it
 * registered, stops watching, then closes the etcd client.
 */
export function shopEtcdRegistry(endpoints: readonly string[], name: string): Registry {
  const etcd = new Etcd3({ hosts: [...endpoints] });
  // Short leases: a killed instance leaves the registry within seconds.
  const inner = etcdRegistry(etcd, {
    name,
    prefix: SHOP_REGISTRY_PREFIX,
    leaseTtlS: 5,
    requestTimeoutMs: 10_000,
  });
  const registry: Registry = Object.assign(Object.create(inner) as Registry, {
    async close() {
      try {
        await inner.close();
      } finally {
        etcd.close();
      }
    },
  });
  return registry;
}
