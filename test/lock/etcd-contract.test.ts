// The lock contract on the shared etcd: lockers on separate etcd3 clients, as separate
// service instances would be.
import { fileURLToPath } from 'node:url';
import { Etcd3 } from 'etcd3';
import { etcdLock } from '../../src/lock/index.js';
import { describeBackends, sharedEtcdEndpoints, uniquePrefix } from '../harness/index.js';
import { describeLockContract, type LockContractEnv } from './contract.js';

const FACTORY = fileURLToPath(new URL('./etcd-locker.fixture.ts', import.meta.url));

describeBackends<LockContractEnv & { clients: Etcd3[] }>(
  [
    {
      name: 'etcd',
      open() {
        const clients: Etcd3[] = [];
        const client = () => {
          const c = new Etcd3({ hosts: sharedEtcdEndpoints() });
          clients.push(c);
          return c;
        };
        const shared = client();
        return {
          clients,
          lockers(count, options) {
            const prefix = uniquePrefix('lock etcd', '/').slice(0, -1);
            return Array.from({ length: count }, () => etcdLock(client(), { prefix, ...options }));
          },
          make: (options) => etcdLock(shared, options as never),
          contenders: {
            kind: 'processes',
            factoryModule: FACTORY,
            config: { endpoints: sharedEtcdEndpoints() },
          },
        };
      },
      close(env) {
        for (const c of env.clients) c.close();
      },
    },
  ],
  describeLockContract,
);
