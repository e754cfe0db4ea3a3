import { Etcd3 } from 'etcd3';
import { afterAll, describe, expect, it } from 'vitest';
import { constant } from '../../src/core/index.js';
import { etcdRegistry, memoryRegistry, workerId } from '../../src/registry/index.js';
import { sharedEtcdEndpoints, uniquePrefix } from '../harness/index.js';

const etcd = new Etcd3({ hosts: sharedEtcdEndpoints() });
afterAll(() => etcd.close());
const prefix = () => uniquePrefix('worker id', '/').replace(/\/$/, '');

describe('workerId on etcd', () => {
  it('all ids taken: NO_FREE_WORKER_ID; a closed id can be leased again', async () => {
    const p = prefix();
    const a = await workerId(etcd, { prefix: p, bits: 1 });
    const b = await workerId(etcd, { prefix: p, bits: 1 });
    expect(new Set([a.id, b.id])).toEqual(new Set([0, 1]));
    await expect(workerId(etcd, { prefix: p, bits: 1 })).rejects.toMatchObject({
      code: 'NO_FREE_WORKER_ID',
      size: 2,
    });
    const freed = a.id;
    await a.close();
    const c = await workerId(etcd, { prefix: p, bits: 1 });
    expect(c.id).toBe(freed);
    await b.close();
    await c.close();
  });

  it('lease revoked behind its back: lost, then another id acquired', async () => {
    const p = prefix();
    const worker = await workerId(etcd, {
      prefix: p,
      bits: 4,
      leaseTtlS: 5,
      keepaliveMs: 100,
      retry: constant({ delayMs: 50 }),
    });
    expect(worker.held).toBe(true);
    const first = worker.id;
    const lost = new Promise<{ id: number }>((r) => worker.events.once('lost', r));
    const acquired = new Promise<{ id: number }>((r) => worker.events.once('acquired', r));
    // Someone takes the key's lease away (an operator, or etcd expiring it).
    const leases = await etcd.leaseClient.leaseLeases({});
    const ours = (await etcd.get(`${p}/${first}`).exec()).kvs[0]!.lease;
    expect(leases.leases.some((l) => l.ID === ours)).toBe(true);
    await etcd.leaseClient.leaseRevoke({ ID: ours });
    expect((await lost).id).toBe(first);
    const again = await acquired;
    expect(worker.held).toBe(true);
    expect(worker.id).toBe(again.id);
    expect(await etcd.get(`${p}/${again.id}`).string()).toBe(String(again.id));
    await worker.close();
  });

  it('takes an etcd registry (ids under its prefix) or a memory registry', async () => {
    const p = prefix();
    const registry = etcdRegistry(etcd, { prefix: p });
    const w = await workerId(registry, { bits: 3 });
    expect(await etcd.get(`${p}/_worker-id/${w.id}`).string()).toBe(String(w.id));
    await w.close();
    const memory = memoryRegistry();
    const m = await Promise.all([1, 2, 3, 4].map(() => workerId(memory, { bits: 2 })));
    expect(new Set(m.map((x) => x.id)).size).toBe(4);
    await expect(workerId(memory, { bits: 2 })).rejects.toMatchObject({
      code: 'NO_FREE_WORKER_ID',
    });
    await m[0]!.close();
    expect((await workerId(memory, { bits: 2 })).id).toBe(m[0]!.id);
  });

  it('bad source or options', async () => {
    await expect(workerId({} as never)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(workerId(etcd, { bits: 0 })).rejects.toMatchObject({ code: 'INVALID_OPTIONS' });
    await expect(workerId(etcd, { bits: 4, zz: 1 } as never)).rejects.toMatchObject({
      code: 'INVALID_OPTIONS',
    });
  });
});
