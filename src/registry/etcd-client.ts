// The parts of an etcd3 client the registry uses, checked by shape (etcd3 stays an
// optional peer, imported for types only), and the three lease calls it makes.
import type { Namespace } from 'etcd3';
import { type Clock, InvalidArgumentError, withTimeout } from '../core/index.js';

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

/** @internal Grant a lease; resolves its id (a decimal int64 string). */
export async function grantLease(client: Namespace, ttlS: number): Promise<string> {
  const reply = await client.leaseClient.leaseGrant({ TTL: ttlS });
  if (reply.error) throw new Error(`etcd refused the lease: ${reply.error}`);
  return reply.ID;
}

/**
 * @internal
 * One keepalive round trip. True: renewed. False: etcd says the lease is gone (TTL 0:
 * expired, revoked or wiped). Rejects on a transport failure or after `timeoutMs`, when
 * the lease may well still be alive.
 */
export function keepAliveOnce(
  client: Namespace,
  leaseId: string,
  timeoutMs: number,
  clock: Clock,
): Promise<boolean> {
  return withTimeout(
    async (signal) => {
      const stream = await client.leaseClient.leaseKeepAlive();
      try {
        const reply = await new Promise<{ TTL: string }>((resolve, reject) => {
          signal.addEventListener('abort', () => reject(signal.reason), { once: true });
          stream.on('data', resolve);
          stream.on('error', reject);
          stream.write({ ID: leaseId });
        });
        return reply.TTL !== '0';
      } finally {
        // An error arriving after end must not surface as an unhandled event.
        stream.on('error', () => {});
        stream.end();
      }
    },
    { timeoutMs, clock },
  );
}

/**
 * @internal
 * Revoke a lease (deleting every key on it in the same step). Resolves false when it
 * was already gone.
 */
export function revokeLease(
  client: Namespace,
  leaseId: string,
  timeoutMs: number,
  clock: Clock,
): Promise<boolean> {
  return withTimeout(
    async () => {
      try {
        await client.leaseClient.leaseRevoke({ ID: leaseId });
        return true;
      } catch (error) {
        if (error instanceof Error && /lease not found/i.test(error.message)) return false;
        throw error;
      }
    },
    { timeoutMs, clock },
  );
}
