// girder's one etcd lease helper: grant, renew once, revoke. The etcd lock (a lease per
// lock and per queued waiter), registry registrations and worker ids each own leases of
// their own, so renewing or losing one concerns that owner only. Renewals are driven
// from girder's clock instead of etcd3's `Lease` helper, which renews on its own timer
// at a third of the TTL and cannot be told a fraction.
import type { Namespace } from 'etcd3';
import { type Clock, withTimeout } from '../index.js';

/** @internal What etcd granted: the lease id (a decimal int64) and its TTL in seconds. */
export interface GrantedLease {
  readonly id: string;
  readonly ttlSeconds: number;
}

/**
 * @internal
 * etcd leases live in whole seconds: `ttlMs` is rounded up, and never below one second.
 * A holder's local deadline still counts from `ttlMs`, so it gives up no later than etcd
 * frees the key.
 */
export function leaseSeconds(ttlMs: number): number {
  return Math.max(1, Math.ceil(ttlMs / 1000));
}

/** @internal True when etcd says the lease no longer exists (expired or revoked). */
export function isLeaseGone(error: unknown): boolean {
  return error instanceof Error && /lease not found/i.test(error.message);
}

/** @internal Grant a lease of `ttlSeconds`. */
export async function grantLease(client: Namespace, ttlSeconds: number): Promise<GrantedLease> {
  const reply = await client.leaseClient.leaseGrant({ TTL: ttlSeconds });
  if (reply.error) throw new Error(`etcd refused the lease: ${reply.error}`);
  return { id: reply.ID, ttlSeconds: Number(reply.TTL) };
}

/**
 * @internal
 * Renew `leaseId` once. Resolves true when etcd renewed it, false when etcd says it is
 * gone (TTL 0 in the reply: expired, revoked, or the data was wiped). Rejects on a
 * transport failure or when `timeoutMs` passes first: the lease may still be alive.
 */
export function renewLease(
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
          const onAbort = () => reject(signal.reason);
          signal.addEventListener('abort', onAbort, { once: true });
          stream.on('data', resolve);
          stream.on('error', reject);
          stream.write({ ID: leaseId });
        });
        return reply.TTL !== '0';
      } finally {
        // A late 'error' after end must not become an unhandled event.
        stream.on('error', () => {});
        stream.end();
      }
    },
    { timeoutMs, clock },
  );
}

/**
 * @internal
 * Revoke `leaseId`, which deletes every key attached to it in the same raft entry.
 * Resolves true when the lease existed, false when it was already gone; rejects on a
 * transport failure or after `timeoutMs`.
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
        if (isLeaseGone(error)) return false;
        throw error;
      }
    },
    { timeoutMs, clock },
  );
}

/**
 * @internal
 * Revoke in the background, for a lease nobody waits on any more (a failed try, an
 * abandoned wait). Failure is harmless: the lease's TTL frees it.
 */
export function revokeQuietly(
  client: Namespace,
  leaseId: string,
  timeoutMs: number,
  clock: Clock,
): void {
  revokeLease(client, leaseId, timeoutMs, clock).catch(() => {});
}
