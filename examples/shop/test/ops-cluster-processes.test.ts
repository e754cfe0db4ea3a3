// The cluster panel's view over the `--cluster` control (one process per instance,
// registered in etcd): the supervisor's instances joined with etcd's registrations:
// ids and pids of the children, weights as etcd has them, a crashed child still
// registered until its lease runs out, a stopped one deregistered. The children are the
// launcher tests' stand-ins (cluster-fixtures/service-standin.ts), which register in etcd
// like a service instance but serve no gRPC, so no picks are counted here.
import { fileURLToPath } from 'node:url';
import { Etcd3 } from 'etcd3';
import { type Breaker, circuitBreaker, consecutiveFailures } from 'girder/breaker';
import { systemClock } from 'girder/core';
import { registerBalancers } from 'girder/grpc';
import { etcdRegistry } from 'girder/registry';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sharedEtcdEndpoints } from '../../../test/harness/index.js';
import { type ClusterControl, clusterControl } from '../src/cluster/control.js';
import { createSupervisor, type Supervisor } from '../src/cluster/supervisor.js';
import { type ClusterOps, type ClusterSnapshot, clusterOps } from '../src/observe/ops-cluster.js';
import { SERVICE_NAMES, type ServiceName } from '../src/rpc/protos.js';
import { eventuallyValue } from './processes.js';

const STANDIN = fileURLToPath(new URL('./cluster-fixtures/service-standin.ts', import.meta.url));

let etcd: Etcd3;
let supervisor: Supervisor;
let control: ClusterControl;
let view: ClusterOps;
let closeRegistry: () => Promise<void>;

beforeAll(async () => {
  const endpoints = await sharedEtcdEndpoints();
  etcd = new Etcd3({ hosts: endpoints });
  // The stand-ins register under this prefix; start from a clean slate.
  await etcd.delete().prefix('shop-test/services');
  supervisor = createSupervisor(
    { orders: { entry: STANDIN } },
    { execArgv: ['--import', 'tsx'], output: () => {} },
  );
  control = clusterControl(supervisor, (role) => ({
    ETCD_ENDPOINTS: endpoints.join(','),
    SHOP_ROLE: role,
    SHOP_RPC_WEIGHT: '1',
  }));
  const registry = etcdRegistry(etcd, { prefix: 'shop-test/services', requestTimeoutMs: 20_000 });
  closeRegistry = () => registry.close();
  const breakers = Object.fromEntries(
    SERVICE_NAMES.map((name) => [
      name,
      circuitBreaker({ name: `rpc-${name}`, policy: consecutiveFailures({ threshold: 5 }) }),
    ]),
  ) as Record<ServiceName, Breaker>;
  view = clusterOps(
    { registry, balancers: registerBalancers(), breakers },
    { clock: systemClock, control },
  );
}, 60_000);

afterAll(async () => {
  await supervisor?.close();
  await view?.stop();
  await closeRegistry?.();
  etcd?.close();
});

const orders = (snap: ClusterSnapshot) => snap.services.find((s) => s.name === 'orders')!;

describe('the cluster view over the supervisor', () => {
  it('joins the children with their etcd registrations', async () => {
    const one = await control.scaleUp('orders');
    const two = await control.scaleUp('orders');
    expect([one.id, two.id]).toEqual(['orders#1', 'orders#2']);
    const snap = await eventuallyValue(
      () => view.snapshot(),
      (s) => orders(s).instances.filter((i) => i.lease === 'registered').length === 2,
      'both orders nodes registered',
    );
    expect(snap.mode).toBe('processes');
    expect(orders(snap).stale).toBe(false);
    expect(
      orders(snap)
        .instances.map((i) => ({ id: i.id, pid: i.pid, state: i.state, weight: i.weight }))
        .sort((a, b) => String(a.id).localeCompare(String(b.id))),
    ).toEqual([
      { id: 'orders#1', pid: one.pid, state: 'running', weight: 1 },
      { id: 'orders#2', pid: two.pid, state: 'running', weight: 1 },
    ]);
    expect(snap.services.find((s) => s.name === 'inventory')!.instances).toEqual([]);
  });

  it('shows a weight set through the child as etcd has it', async () => {
    expect(await control.setWeight('orders#1', 3)).toBe(3);
    await eventuallyValue(
      () => orders(view.snapshot()).instances.find((i) => i.id === 'orders#1'),
      (i) => i?.weight === 3,
      'orders#1 at weight 3',
    );
  });

  it('keeps a crashed child registered (its lease outlives it), drops a stopped one', async () => {
    await control.kill('orders#2', 'SIGKILL');
    let two = orders(view.snapshot()).instances.find((i) => i.id === 'orders#2');
    expect(two).toMatchObject({ state: 'exited', exit: 'SIGKILL', lease: 'registered' });
    await control.kill('orders#1', 'SIGTERM');
    const one = await eventuallyValue(
      () => orders(view.snapshot()).instances.find((i) => i.id === 'orders#1'),
      (i) => i?.lease === 'gone',
      'the lease of orders#1 gone',
    );
    expect(one).toMatchObject({ state: 'exited', exit: 'code 0' });
    two = orders(view.snapshot()).instances.find((i) => i.id === 'orders#2');
    expect(two?.state).toBe('exited');
    await expect(control.kill('orders#1')).rejects.toThrow('orders#1 is not running');
    await expect(control.setWeight('orders#9', 2)).rejects.toThrow('no instance orders#9');
  });
});
