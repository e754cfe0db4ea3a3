import { Etcd3 } from 'etcd3';
import { etcdRegistry } from '../../src/registry/index.js';
import { describeBackends, sharedEtcdEndpoints, uniquePrefix } from '../harness/index.js';
import { describeRegistryContract, type RegistryContractEnv } from './contract.js';

describeBackends<RegistryContractEnv & { client: Etcd3 }>(
  [
    {
      name: 'etcd',
      open: () => {
        const client = new Etcd3({ hosts: sharedEtcdEndpoints() });
        return {
          client,
          // Separate registry objects on one prefix: separate processes on one etcd.
          registries(count) {
            const prefix = uniquePrefix('registry', '/').replace(/\/$/, '');
            return Array.from({ length: count }, () =>
              etcdRegistry(client, { prefix, leaseTtlS: 5 }),
            );
          },
        };
      },
      close: (env) => env.client.close(),
    },
  ],
  describeRegistryContract,
);
