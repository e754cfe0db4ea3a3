// Factory module for the contract's contender processes: an etcdLock on its own etcd3
// client (`{ endpoints }`), as a separate service instance would have.
import { Etcd3 } from 'etcd3';
import { etcdLock } from '../../src/lock/index.js';
import type { MakeLocker } from './fixtures/contender.js';

export const makeLocker: MakeLocker = async (config, prefix, options) => {
  const { endpoints } = config as { endpoints: string[] };
  const client = new Etcd3({ hosts: endpoints });
  return {
    locker: etcdLock(client, { prefix: prefix.replace(/:/g, '/'), ...options }),
    close: async () => {
      client.close();
    },
  };
};
