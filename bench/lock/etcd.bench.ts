import { Etcd3 } from 'etcd3';
import { etcdLock, type Locker } from 'girder/lock';
import { type EtcdServer, startEtcd } from '../../test/harness/etcd.js';
import type { BenchSuite, Runner } from '../harness.js';

/**
 * etcd locks, acquire + release on ONE shared etcd3 client, three subjects in the same
 * run:
 * - girder `etcdLock` (lease per acquisition, put-if-free transaction, revoke);
 * - etcd3's own `client.lock(key).acquire()` / `.release()` (lease with its keepalive
 *   stream, put-if-absent transaction, revoke);
 * - the ceiling: the same three round trips as bare RPCs (LeaseGrant, Txn, LeaseRevoke).
 * Sequentially on one key, and with IN_FLIGHT callers each on its own key. girder also
 * runs once with `waitMs` set (the queue transaction instead of put-if-free), as a
 * diagnostic. Uses ETCD_ENDPOINTS when set, otherwise starts a throwaway etcd.
 */
const IN_FLIGHT = 100;
const TTL_SECONDS = 30;

let server: EtcdServer | undefined;
let client: Etcd3;
let girder: Locker;
let girderQueued: Locker;
let round = 0;

const sequential =
  (once: (key: string) => Promise<void>): Runner =>
  async (n) => {
    const key = `seq-${round++}`;
    for (let i = 0; i < n; i++) await once(key);
  };

const concurrent =
  (once: (key: string) => Promise<void>): Runner =>
  async (n) => {
    const prefix = `par-${round++}`;
    let issued = 0;
    const lane = async (lane: number) => {
      while (issued < n) {
        issued++;
        await once(`${prefix}-${lane}`);
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, (_, i) => lane(i)));
  };

const viaGirder = async (key: string) => {
  const lock = await girder.acquire(key);
  await lock.release();
};
const viaGirderQueued = async (key: string) => {
  const lock = await girderQueued.acquire(key);
  await lock.release();
};
const viaEtcd3 = async (key: string) => {
  const lock = client.lock(`bench/etcd3/${key}`).ttl(TTL_SECONDS);
  await lock.acquire();
  await lock.release();
};
const ceiling = async (key: string) => {
  const raw = Buffer.from(`bench/raw/${key}/x`);
  const { ID } = await client.leaseClient.leaseGrant({ TTL: TTL_SECONDS });
  await client.kv.txn({
    compare: [{ key: raw, target: 'Create', result: 'Equal', create_revision: 0 }],
    success: [{ request_put: { key: raw, value: Buffer.alloc(0), lease: ID } }],
    failure: [],
  });
  await client.leaseClient.leaseRevoke({ ID });
};

async function setup() {
  let endpoints = process.env.ETCD_ENDPOINTS?.split(',').map((e) => e.trim());
  if (!endpoints?.length || !endpoints[0]) {
    server = await startEtcd();
    endpoints = server.endpoints;
  }
  client = new Etcd3({ hosts: endpoints });
  girder = etcdLock(client, { prefix: 'bench/girder', ttlMs: TTL_SECONDS * 1000 });
  girderQueued = etcdLock(client, {
    prefix: 'bench/girder-queued',
    ttlMs: TTL_SECONDS * 1000,
    waitMs: 5_000,
  });
  await viaGirder('warm-up');
  await viaEtcd3('warm-up');
  return async () => {
    await girder.close();
    await girderQueued.close();
    client.close();
    await server?.stop();
  };
}

export const suite: BenchSuite = {
  name: 'lock (etcd)',
  cases: [
    {
      name: 'acquire + release, sequential, one key',
      setup,
      girder: sequential(viaGirder),
      peers: [
        { name: 'etcd3 Lock acquire/release', run: sequential(viaEtcd3) },
        { name: 'bare grant + txn + revoke (ceiling)', run: sequential(ceiling) },
        { name: 'girder etcdLock with waitMs (queue txn)', run: sequential(viaGirderQueued) },
      ],
    },
    {
      name: `acquire + release, ${IN_FLIGHT} in flight, one key each`,
      setup,
      girder: concurrent(viaGirder),
      peers: [
        { name: 'etcd3 Lock acquire/release', run: concurrent(viaEtcd3) },
        { name: 'bare grant + txn + revoke (ceiling)', run: concurrent(ceiling) },
        { name: 'girder etcdLock with waitMs (queue txn)', run: concurrent(viaGirderQueued) },
      ],
    },
  ],
};
