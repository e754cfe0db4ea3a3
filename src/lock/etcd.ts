// `etcdLock`: the Locker on etcd. Parsing lives here; the backend is in etcd-backend.ts,
// the queue recipe in etcd-queue.ts; the client check and the lease calls are core's
// etcd helpers (src/core/etcd/), shared with the registry.
import type { Etcd3, Namespace } from 'etcd3';
import { z } from 'zod';
import { checkEtcdClient } from '../core/etcd/index.js';
import { parseOptions } from '../core/index.js';
import { EtcdBackend } from './etcd-backend.js';
import { createLocker } from './locker.js';
import { lockerOptionFields, lockerSettings } from './options.js';
import type { Locker, LockerOptions } from './types.js';

/**
 * Options of {@link etcdLock}: the common {@link LockerOptions} plus where the keys live
 * and how long one etcd request may take.
 *
 * etcd leases count whole seconds, so a lock's lease is granted for
 * `ceil(ttlMs / 1000)` seconds (at least 1; etcd may raise it to its own minimum,
 * 1.5 × the election timeout). The holder's local deadline still counts from `ttlMs`:
 * the holder gives up first, and a crashed holder's lock frees within the rounded TTL.
 *
 * @example
 * ```ts
 * import { type EtcdLockOptions, etcdLock } from 'girder/lock';
 *
 * const options: EtcdLockOptions = { prefix: 'shop/locks', ttlMs: 10_000, waitMs: 5_000 };
 * const locker = etcdLock(etcd, options);
 * ```
 */
export interface EtcdLockOptions extends LockerOptions {
  /**
   * Key prefix (inside the client's namespace, if it has one): a lock `k` keeps its
   * waiters under `<prefix>/<URI-encoded k>/`. Default `'girder/lock'`.
   */
  prefix?: string;
  /**
   * Longest wait for one etcd request (lease grant, queue transaction, keepalive)
   * before it counts as failed. Default 2 000 ms.
   */
  requestTimeoutMs?: number;
}

const schema = z.strictObject({
  ...lockerOptionFields,
  prefix: z
    .string()
    .min(1)
    .max(512)
    .refine((p) => !p.endsWith('/'), 'must not end with "/" (one is added)')
    .default('girder/lock'),
  requestTimeoutMs: z.number().int().min(1).max(600_000).default(2_000),
});

/**
 * A {@link Locker} on etcd, following etcd's own lock recipe:
 *
 * - each acquisition grants a lease and puts `<prefix>/<key>/<token>` under it;
 * - the key with the lowest create revision holds the lock; the others queue in
 *   arrival order, each watching only the key just ahead of it, so a release wakes
 *   exactly one waiter;
 * - the fence is the holder key's create revision: etcd revisions only grow, so fences
 *   strictly increase per key for the life of the cluster's data;
 * - the watchdog is the lease keepalive, sent at `renewAtFraction` of the TTL; when etcd
 *   answers that the lease is gone, the holder's `signal` aborts at once with a
 *   `LockLostError` whose reason is `'session'`; when etcd cannot be reached, the local
 *   deadline still aborts it (reason `'deadline'`);
 * - release revokes the lease, which deletes the key in the same step; a timed-out or
 *   aborted waiter revokes its lease too, leaving nothing behind.
 *
 * The client stays yours: `close()` releases held locks but never closes the client.
 *
 * @throws InvalidOptionsError naming each bad option.
 * @throws InvalidArgumentError when `client` is not an etcd3 client.
 *
 * @example
 * ```ts
 * import { Etcd3 } from 'etcd3';
 * import { etcdLock } from 'girder/lock';
 *
 * const etcd = new Etcd3({ hosts: 'http://127.0.0.1:2379' });
 * const locker = etcdLock(etcd, { prefix: 'shop/locks', ttlMs: 10_000, waitMs: 5_000 });
 * await locker.using('order:42', async (signal, lock) => {
 *   await settleOrder(42, { signal, fence: lock.fence });
 * });
 * await locker.close();
 * ```
 */
export function etcdLock(client: Etcd3 | Namespace, options: EtcdLockOptions = {}): Locker {
  const parsed = parseOptions('etcdLock', schema, options);
  const namespace = checkEtcdClient(client);
  const settings = lockerSettings(parsed);
  const backend = new EtcdBackend(namespace, {
    prefix: parsed.prefix,
    requestTimeoutMs: parsed.requestTimeoutMs,
    releaseTimeoutMs: parsed.releaseTimeoutMs,
    clock: settings.clock,
    now: settings.now,
    retry: settings.retry,
  });
  return createLocker(backend, settings);
}
