// Chaos on a dedicated etcd with real signals: etcd SIGKILLed and restarted (with its
// data, and wiped), and a discovery cut off while its watch revision is compacted away.
import { rm } from 'node:fs/promises';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { constant } from '../../src/core/index.js';
import { etcdRegistry, type RegistryBackend } from '../../src/registry/index.js';
import { type EtcdServer, startEtcd, uniquePrefix } from '../harness/index.js';
import { ids, nextEvent, until } from './helpers.js';
import { tcpProxy } from './tcp-proxy.js';

let etcd: EtcdServer;
beforeAll(async () => {
  etcd = await startEtcd();
});
afterAll(async () => {
  await etcd?.stop();
});

/** cockatiel's backoff shape: re-attach watches every 100 ms (default starts at 300 ms, grows to 10 s). */
const quickWatchBackoff = {
  duration: 100,
  next: () => quickWatchBackoff,
};

/** A client that notices a dead server quickly and retries as soon as it is back. */
function newClient(hosts: string[] = etcd.endpoints): Etcd3 {
  return new Etcd3({
    hosts,
    // etcd3's default host breaker stays open 5 s after three failures: too long here.
    faultHandling: {
      host: () => ({ execute: async (fn: () => unknown) => fn() }) as never,
      watchBackoff: quickWatchBackoff as never,
    },
  });
}

const prefix = () => uniquePrefix('registry chaos', '/').replace(/\/$/, '');

function registryOn(client: Etcd3, p: string): RegistryBackend {
  return etcdRegistry(client, {
    prefix: p,
    leaseTtlS: 2,
    keepaliveMs: 200,
    requestTimeoutMs: 500,
    retry: constant({ delayMs: 100 }),
  });
}

describe('etcdRegistry chaos', () => {
  it('etcd SIGKILLed and restarted: discovery serves the last list as stale, then recovers', async () => {
    const p = prefix();
    const client = newClient();
    const registry = registryOn(client, p);
    try {
      await registry.register({ service: 's', id: 'a', address: 'h:1' });
      await registry.register({ service: 's', id: 'b', address: 'h:2' });
      const discovery = registry.discover('s');
      await until(discovery, (l) => l.length === 2);
      const changes: number[] = [];
      discovery.events.on('changed', ({ instances }) => changes.push(instances.length));

      const stale = nextEvent(discovery.events, 'stale');
      await etcd.kill();
      await stale;
      expect(discovery.stale).toBe(true);
      expect(ids(discovery.instances())).toEqual(['a', 'b']);

      const fresh = nextEvent(discovery.events, 'fresh');
      await etcd.restart();
      await fresh;
      expect(discovery.stale).toBe(false);
      expect(ids(discovery.instances())).toEqual(['a', 'b']);
      // The list never went empty at any point.
      expect(changes.every((n) => n > 0)).toBe(true);
      // And it is live again: a new instance shows up.
      await registry.register({ service: 's', id: 'c', address: 'h:3' });
      await until(discovery, (l) => l.length === 3);
    } finally {
      await registry.close();
      client.close();
    }
  });

  it('etcd restarted with its data wiped: the lease is lost, re-registered by itself, and discovery re-lists', async () => {
    const p = prefix();
    const client = newClient();
    const registry = registryOn(client, p);
    const watcherClient = newClient();
    const watcher = registryOn(watcherClient, p);
    try {
      const reg = await registry.register({
        service: 's',
        id: 'a',
        address: 'h:1',
        metadata: { zone: 'z1' },
      });
      await reg.update({ zone: 'z2' }, { weight: 4 });
      const discovery = watcher.discover('s');
      await until(discovery, (l) => l[0]?.weight === 4);
      const lost = nextEvent(reg.events, 'leaseLost');
      const back = nextEvent<{ downMs: number }>(reg.events, 'reregistered');
      const stale = nextEvent(discovery.events, 'stale');

      await etcd.kill();
      await rm(etcd.dataDir, { recursive: true, force: true });
      await stale;
      expect(ids(discovery.instances())).toEqual(['a']);
      await etcd.restart();

      await lost;
      const { downMs } = await back;
      expect(downMs).toBeGreaterThanOrEqual(0);
      // The wiped etcd holds the instance again, with its latest metadata and weight.
      const [instance] = await until(discovery, (l) => l.length === 1 && !discovery.stale);
      expect(instance).toMatchObject({ id: 'a', weight: 4, metadata: { zone: 'z2' } });
      const direct = await client.get(`${p}/s/a`).string();
      expect(JSON.parse(direct!)).toMatchObject({ weight: 4 });
    } finally {
      await watcher.close();
      await registry.close();
      client.close();
      watcherClient.close();
    }
  });

  it('a watch compacted away while the discovery is cut off: it re-lists correctly', async () => {
    const p = prefix();
    const client = newClient();
    const registry = registryOn(client, p);
    const proxy = await tcpProxy(etcd.port);
    const cutClient = newClient([proxy.endpoint]);
    const cutRegistry = registryOn(cutClient, p);
    try {
      const a = await registry.register({ service: 's', id: 'a', address: 'h:1' });
      const discovery = cutRegistry.discover('s');
      await until(discovery, (l) => l.length === 1);

      const stale = nextEvent(discovery.events, 'stale');
      await proxy.cut();
      await stale;
      // Meanwhile: a leaves, b and c arrive, c changes, and history is compacted.
      await a.deregister();
      await registry.register({ service: 's', id: 'b', address: 'h:2' });
      const c = await registry.register({ service: 's', id: 'c', address: 'h:3' });
      await c.update({ v: '2' }, { weight: 9 });
      for (let i = 0; i < 5; i++) await client.put(`${p}/other/${i}`).value('x');
      const { header } = await client.getAll().prefix(`${p}/`).exec();
      await client.kv.compact({ revision: header.revision, physical: true });
      expect(ids(discovery.instances())).toEqual(['a']);

      const fresh = nextEvent(discovery.events, 'fresh');
      await proxy.restore();
      await fresh;
      const list = await until(discovery, (l) => l.length === 2);
      expect(ids(list)).toEqual(['b', 'c']);
      expect(list[1]).toMatchObject({ weight: 9, metadata: { v: '2' } });
      // And the new watch is live.
      await c.deregister();
      await until(discovery, (l) => l.length === 1);
    } finally {
      await cutRegistry.close();
      await registry.close();
      cutClient.close();
      client.close();
      await proxy.close();
    }
  });
});
