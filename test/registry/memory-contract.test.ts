import {
  memoryRegistry,
  memoryRegistryStore,
  type RegistryBackend,
} from '../../src/registry/index.js';
import { describeBackends } from '../harness/index.js';
import { describeRegistryContract, type RegistryContractEnv } from './contract.js';

describeBackends<RegistryContractEnv>(
  [
    {
      name: 'memory',
      open: () => ({
        // In-process services, each with its own registry on one shared table.
        registries(count) {
          const store = memoryRegistryStore();
          return Array.from({ length: count }, (): RegistryBackend => memoryRegistry({ store }));
        },
      }),
    },
  ],
  describeRegistryContract,
);
