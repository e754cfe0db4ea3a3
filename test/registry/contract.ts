// The registry contract, run on every backend: what a registration writes, discovery
// reads, two discoveries agree, and close cleans up.
import { describe, expect, it } from 'vitest';
import type { RegistryBackend } from '../../src/registry/index.js';
import { ids, until } from './helpers.js';

export interface RegistryContractEnv {
  /** `count` registries sharing one store (two processes on one etcd), fresh per call. */
  registries(count: number): RegistryBackend[];
}

export function describeRegistryContract(backend: string, env: () => RegistryContractEnv): void {
  describe(`registry contract (${backend})`, () => {
    it('a registered instance is discovered, with defaults filled in', async () => {
      const [registry] = env().registries(1);
      const reg = await registry!.register({ service: 'orders', id: 'a', address: '10.0.0.1:1' });
      expect(reg.instance).toEqual({
        service: 'orders',
        id: 'a',
        address: '10.0.0.1:1',
        metadata: {},
        weight: 1,
      });
      const discovery = registry!.discover('orders');
      await discovery.ready;
      expect(discovery.instances()).toEqual([reg.instance]);
      expect(discovery.stale).toBe(false);
      await registry!.close();
    });

    it('an id is generated when none is given', async () => {
      const [registry] = env().registries(1);
      const a = await registry!.register({ service: 's', address: 'x:1' });
      const b = await registry!.register({ service: 's', address: 'x:2' });
      expect(a.instance.id).not.toBe(b.instance.id);
      const discovery = registry!.discover('s');
      await discovery.ready;
      await until(discovery, (list) => list.length === 2);
      await registry!.close();
    });

    it('discovery sees registrations from another registry, only of its own service', async () => {
      const [a, b] = env().registries(2);
      const discovery = b!.discover('orders');
      await discovery.ready;
      expect(discovery.instances()).toEqual([]);
      await a!.register({ service: 'orders', id: 'o1', address: 'h:1', weight: 3 });
      await a!.register({ service: 'payments', id: 'p1', address: 'h:2' });
      await a!.register({ service: 'orders-v2', id: 'x', address: 'h:3' });
      const list = await until(discovery, (l) => l.length === 1);
      expect(list[0]).toMatchObject({ id: 'o1', weight: 3, address: 'h:1' });
      await a!.close();
      await b!.close();
    });

    it('update replaces metadata and weight; both discoveries see it', async () => {
      const [a, b] = env().registries(2);
      const reg = await a!.register({
        service: 'svc',
        id: 'i1',
        address: 'h:1',
        metadata: { zone: 'a', version: '1' },
      });
      const d1 = a!.discover('svc');
      const d2 = b!.discover('svc');
      await Promise.all([d1.ready, d2.ready]);
      await reg.update({ zone: 'b' }, { weight: 7 });
      expect(reg.instance).toMatchObject({ metadata: { zone: 'b' }, weight: 7 });
      for (const d of [d1, d2]) {
        const [i] = await until(d, (l) => l[0]?.weight === 7);
        expect(i!.metadata).toEqual({ zone: 'b' });
      }
      // Metadata alone keeps the weight.
      await reg.update({ zone: 'c' });
      for (const d of [d1, d2]) {
        const [i] = await until(d, (l) => l[0]?.metadata.zone === 'c');
        expect(i!.weight).toBe(7);
      }
      await a!.close();
      await b!.close();
    });

    it('changed fires once per change with the full sorted list', async () => {
      const [registry] = env().registries(1);
      const discovery = registry!.discover('s');
      await discovery.ready;
      const seen: string[][] = [];
      discovery.events.on('changed', ({ instances }) => seen.push(ids(instances)));
      await registry!.register({ service: 's', id: 'b', address: 'h:2' });
      await until(discovery, (l) => l.length === 1);
      await registry!.register({ service: 's', id: 'a', address: 'h:1' });
      await until(discovery, (l) => l.length === 2);
      expect(seen).toEqual([['b'], ['a', 'b']]);
      await registry!.close();
    });

    it('deregister removes the instance before the drain wait ends', async () => {
      const [a, b] = env().registries(2);
      const reg = await a!.register({ service: 's', id: 'gone', address: 'h:1' });
      const discovery = b!.discover('s');
      await until(discovery, (l) => l.length === 1);
      const order: string[] = [];
      const removed = until(discovery, (l) => l.length === 0).then(() => order.push('removed'));
      await reg.deregister({ drainMs: 300 });
      order.push('drained');
      await removed;
      expect(order).toEqual(['removed', 'drained']);
      // Idempotent.
      await reg.deregister();
      await a!.close();
      await b!.close();
    });

    it('two discoveries of one service agree on every change', async () => {
      const [a, b] = env().registries(2);
      const d1 = a!.discover('s');
      const d2 = b!.discover('s');
      const r1 = await a!.register({ service: 's', id: '1', address: 'h:1' });
      await b!.register({ service: 's', id: '2', address: 'h:2' });
      for (const d of [d1, d2]) await until(d, (l) => l.length === 2);
      await r1.deregister();
      for (const d of [d1, d2]) expect(ids(await until(d, (l) => l.length === 1))).toEqual(['2']);
      await a!.close();
      await b!.close();
    });

    it('close deregisters everything and stops discoveries', async () => {
      const [a, b] = env().registries(2);
      await a!.register({ service: 's', id: '1', address: 'h:1' });
      await a!.register({ service: 's', id: '2', address: 'h:2' });
      const own = a!.discover('s');
      const other = b!.discover('s');
      await until(other, (l) => l.length === 2);
      await a!.close();
      await until(other, (l) => l.length === 0);
      await expect(a!.register({ service: 's', address: 'h:3' })).rejects.toMatchObject({
        code: 'REGISTRY_CLOSED',
      });
      expect(() => a!.discover('s')).toThrow(expect.objectContaining({ code: 'REGISTRY_CLOSED' }));
      // A closed discovery keeps its last list and hears nothing more.
      let heard = 0;
      own.events.on('changed', () => heard++);
      await b!.register({ service: 's', id: '9', address: 'h:9' });
      await until(other, (l) => l.length === 1);
      expect(heard).toBe(0);
      await b!.close();
    });

    it('bad input is INVALID_ARGUMENT and changes nothing', async () => {
      const [registry] = env().registries(1);
      const bad = [
        { service: '', address: 'h:1' },
        { service: 'a/b', address: 'h:1' },
        { service: 's', address: '' },
        { service: 's', address: 'h:1', weight: 0 },
        { service: 's', address: 'h:1', weight: 1.5 },
        { service: 's', address: 'h:1', metadata: { n: 1 } },
        { service: 's', id: 'x/y', address: 'h:1' },
        { service: 's', address: 'h:1', extra: true },
      ];
      for (const spec of bad) {
        await expect(registry!.register(spec as never)).rejects.toMatchObject({
          code: 'INVALID_ARGUMENT',
        });
      }
      await expect(
        registry!.register({ service: 's', address: 'h:1' }, { signal: {} as never }),
      ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      expect(() => registry!.discover('')).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
      );
      const reg = await registry!.register({ service: 's', id: 'ok', address: 'h:1' });
      await expect(reg.update({ a: 1 } as never)).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
      });
      await expect(reg.update({}, { weight: -1 })).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
      });
      await expect(reg.deregister({ drainMs: -1 })).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
      });
      const discovery = registry!.discover('s');
      await discovery.ready;
      expect(discovery.instances()).toEqual([reg.instance]);
      await registry!.close();
    });

    it('an aborted signal registers nothing', async () => {
      const [registry] = env().registries(1);
      const controller = new AbortController();
      controller.abort();
      await expect(
        registry!.register({ service: 's', address: 'h:1' }, { signal: controller.signal }),
      ).rejects.toMatchObject({ code: 'ABORTED' });
      const discovery = registry!.discover('s');
      await discovery.ready;
      expect(discovery.instances()).toEqual([]);
      await registry!.close();
    });

    it('registry events report registrations and discovery changes', async () => {
      const [registry] = env().registries(1);
      const seen: string[] = [];
      registry!.events.on('registered', ({ id }) => seen.push(`registered ${id}`));
      registry!.events.on('deregistered', ({ id }) => seen.push(`deregistered ${id}`));
      registry!.events.on('changed', ({ count }) => seen.push(`changed ${count}`));
      const discovery = registry!.discover('s');
      await discovery.ready;
      const reg = await registry!.register({ service: 's', id: 'e', address: 'h:1' });
      await until(discovery, (l) => l.length === 1);
      await reg.deregister();
      await until(discovery, (l) => l.length === 0);
      // The watch may report a change before or after the call returns: check each stream.
      expect(seen.filter((e) => e.startsWith('changed'))).toEqual(['changed 1', 'changed 0']);
      expect(seen.filter((e) => !e.startsWith('changed'))).toEqual([
        'registered e',
        'deregistered e',
      ]);
      await registry!.close();
    });
  });
}
