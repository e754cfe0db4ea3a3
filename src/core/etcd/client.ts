// The parts of an etcd3 client the lock and the registry use, checked by shape (etcd3
// stays an optional peer, imported for types only). The lease calls are in lease.ts.
import type { Namespace } from 'etcd3';
import { InvalidArgumentError } from '../errors.js';

/** @internal Accept an `Etcd3` client or one of its namespaces. */
export function checkEtcdClient(client: unknown, argument = 'client'): Namespace {
  const c = client as Partial<Namespace> | null;
  if (
    typeof c !== 'object' ||
    c === null ||
    !Buffer.isBuffer(c.prefix) ||
    typeof c.put !== 'function' ||
    typeof c.getAll !== 'function' ||
    typeof c.kv?.txn !== 'function' ||
    typeof c.leaseClient?.leaseGrant !== 'function' ||
    typeof c.watch !== 'function'
  ) {
    throw new InvalidArgumentError(
      argument,
      'must be an etcd3 client (new Etcd3(...)) or one of its namespaces',
    );
  }
  return c as Namespace;
}

/** @internal True for an etcd3 client or namespace (for APIs taking either it or a registry). */
export function isEtcdClient(client: unknown): client is Namespace {
  try {
    checkEtcdClient(client);
    return true;
  } catch {
    return false;
  }
}
