// A stand-in for a service instance in the launcher test: what the launcher relies on of
// service-main, without the shop's services: it listens on a loopback port, registers in
// etcd (ETCD_ENDPOINTS) under its role with SHOP_RPC_WEIGHT, reports ready, changes its
// weight on request, and deregisters when stopped.
import { createServer } from 'node:net';
import { Etcd3 } from 'etcd3';
import { etcdRegistry } from 'girder/registry';
import { superviseChild } from '../../src/cluster/child.js';

const role = process.env.SHOP_ROLE!;
let weight = Number(process.env.SHOP_RPC_WEIGHT ?? 1);
const server = createServer((socket) => socket.end());
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const address = `127.0.0.1:${(server.address() as { port: number }).port}`;
const etcd = new Etcd3({ hosts: process.env.ETCD_ENDPOINTS!.split(',') });
const registry = etcdRegistry(etcd, { prefix: 'shop-test/services', requestTimeoutMs: 20_000 });
const registration = await registry.register({ service: role, address, weight });

const child = superviseChild({
  async onRequest(body) {
    const request = body as { type: string; weight: number };
    if (request.type !== 'set-weight') throw new Error(`unknown request ${request.type}`);
    await registration.update({}, { weight: request.weight });
    weight = request.weight;
    child.facts({ weight });
    return { weight };
  },
  async stop() {
    await registry.close();
    etcd.close();
    server.close();
  },
});
child.ready({ address, weight, pid: process.pid });
