import { Etcd3 } from 'etcd3';
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { metrics } from '../../src/observability/index.js';
import { etcdRegistry, memoryRegistry } from '../../src/registry/index.js';
import { sharedEtcdEndpoints, uniquePrefix } from '../harness/index.js';
import { until } from '../registry/helpers.js';
import { series } from './helpers.js';

const etcd = new Etcd3({ hosts: sharedEtcdEndpoints() });
afterAll(() => etcd.close());

describe('registry metrics', () => {
  it('counts registrations and gauges instances per service (memory)', async () => {
    const registry = new Registry();
    const reg = memoryRegistry({ name: 'local' });
    metrics({ registry }).watch(reg);
    const discovery = reg.discover('orders');
    const a = await reg.register({ service: 'orders', id: 'a', address: 'h:1' });
    await reg.register({ service: 'orders', id: 'b', address: 'h:2' });
    await a.deregister();
    await until(discovery, (l) => l.length === 1);
    const events = await series(registry, 'girder_registry_registration_events_total');
    const kinds = Object.fromEntries(
      Object.entries(events).map(([k, v]) => [/kind=(\w+)/.exec(k)![1], v]),
    );
    expect(kinds).toMatchObject({ registered: 2, deregistered: 1, lease_lost: 0 });
    const instances = await series(registry, 'girder_registry_discovery_instances');
    expect(Object.values(instances)).toEqual([1]);
    expect(Object.keys(instances)[0]).toContain('orders');
    await reg.close();
  });

  it('counts a lease loss and re-registration (etcd)', async () => {
    const registry = new Registry();
    const reg = etcdRegistry(etcd, {
      prefix: uniquePrefix('registry metrics', '/').replace(/\/$/, ''),
      leaseTtlS: 5,
      keepaliveMs: 100,
    });
    metrics({ registry }).watch(reg);
    const r = await reg.register({ service: 's', id: 'x', address: 'h:1' });
    const back = new Promise((resolve) => r.events.once('reregistered', resolve));
    const leases = await etcd.leaseClient.leaseLeases({});
    for (const l of leases.leases) {
      const keys = await etcd.leaseClient.leaseTimeToLive({ ID: l.ID, keys: true });
      if (keys.keys.some((k) => k.toString().endsWith('/s/x'))) {
        await etcd.leaseClient.leaseRevoke({ ID: l.ID });
      }
    }
    await back;
    const events = await series(registry, 'girder_registry_registration_events_total');
    const byKind = (kind: string) =>
      Object.entries(events).find(
        ([k]) => k.includes(`kind=${kind}`) || k.includes(`"${kind}"`),
      )?.[1];
    expect(byKind('lease_lost')).toBe(1);
    expect(byKind('reregistered')).toBe(1);
    await reg.close();
  });
});
