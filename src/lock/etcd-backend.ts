// The etcd lock backend: one lease per waiter, a FIFO queue by create revision (see
// etcd-queue.ts), the create revision as fence, and the lease id as what release and
// renewal act on. The locker machinery (locker.ts, held-lock.ts) does the rest.
import type { Namespace } from 'etcd3';
import {
  type GrantedLease,
  grantLease,
  leaseSeconds,
  renewLease,
  revokeLease,
  revokeQuietly,
} from '../core/etcd/index.js';
import { AbortedError, type Backoff, type Clock, sleep, withTimeout } from '../core/index.js';
import type { LockBackend, LockGrant, WaitRequest } from './backend.js';
import {
  enterIfFree,
  type Joined,
  joinQueue,
  lockDir,
  PlaceLostError,
  type QueueEntry,
  waitForTurn,
} from './etcd-queue.js';
import type { LockLossReason } from './types.js';

/** @internal Settings of {@link EtcdBackend}. */
export interface EtcdBackendSettings {
  readonly prefix: string;
  readonly requestTimeoutMs: number;
  readonly releaseTimeoutMs: number;
  readonly clock: Clock;
  /** The locker's monotonic time source (`LockerSettings.now`). */
  readonly now: () => number;
  /** Delays before queueing again after a failed request while waiting. */
  readonly retry: Backoff;
}

/**
 * @internal
 * A grant that also says since when its TTL runs: the start of the last lease grant or
 * keepalive etcd confirmed. After a long wait in the queue this is much later than the
 * start of the acquisition, which the machinery otherwise counts the deadline from.
 */
export interface EtcdGrant extends LockGrant {
  /** Monotonic time (`LockerSettings.now`) at which the last confirmed TTL started. */
  readonly validFrom: number;
}

/** A lock this backend holds (or a waiter's place), by token. */
interface Entry {
  lease: GrantedLease;
  readonly queued: QueueEntry;
  /** The holder's loss callback, once the locker watches it. */
  lost: ((reason: LockLossReason, cause?: unknown) => void) | undefined;
}

// While waiting, our own lease is renewed at this fraction of its TTL, so a long wait
// keeps its place in the queue.
const WAITING_RENEW_FRACTION = 1 / 3;

/** @internal The {@link LockBackend} of `etcdLock`. */
export class EtcdBackend implements LockBackend {
  readonly kind = 'etcd';
  readonly #client: Namespace;
  readonly #settings: EtcdBackendSettings;
  readonly #entries = new Map<string, Entry>();

  constructor(client: Namespace, settings: EtcdBackendSettings) {
    this.#client = client;
    this.#settings = settings;
  }

  /**
   * Bound one request by `requestTimeoutMs` on the locker's clock, and settle at once
   * when `signal` aborts (the request itself runs on; etcd3 cannot cancel it).
   */
  #bounded<T>(run: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    return withTimeout(run, {
      timeoutMs: this.#settings.requestTimeoutMs,
      clock: this.#settings.clock,
      signal,
    });
  }

  async tryLock(key: string, token: string, ttlMs: number): Promise<LockGrant | undefined> {
    const client = this.#client;
    const dir = lockDir(client, this.#settings.prefix, key);
    const validFrom = this.#settings.now();
    const lease = await this.#bounded(() => grantLease(client, leaseSeconds(ttlMs)));
    let entry: QueueEntry | undefined;
    try {
      entry = await this.#bounded(() => enterIfFree(client, dir, token, lease.id));
    } catch (error) {
      revokeQuietly(client, lease.id, this.#settings.releaseTimeoutMs, this.#settings.clock);
      throw error;
    }
    if (entry === undefined) {
      // Nothing was put: the lease alone is harmless, so it goes in the background.
      revokeQuietly(client, lease.id, this.#settings.releaseTimeoutMs, this.#settings.clock);
      return undefined;
    }
    return this.#grant(token, lease, entry, validFrom);
  }

  async acquire(request: WaitRequest): Promise<LockGrant | undefined> {
    if (request.waitMs <= 0) {
      const grant = await this.tryLock(request.key, request.token, request.ttlMs);
      if (grant === undefined) request.contended();
      return grant;
    }
    const { clock } = this.#settings;
    // One signal for "stop waiting": the caller's abort or the end of waitMs.
    const stop = new AbortController();
    const timedOut = Symbol('timed out');
    const timer = clock.setTimeout(() => stop.abort(timedOut), request.waitMs);
    const onAbort = () => stop.abort(request.signal.reason);
    if (request.signal.aborted) onAbort();
    else request.signal.addEventListener('abort', onAbort, { once: true });
    // The last request failure, when the wait ends while retrying after it.
    let failure: unknown;
    try {
      let previousMs: number | undefined;
      for (let failures = 0; ; ) {
        let grant: LockGrant | undefined;
        try {
          grant = await this.#queueOnce(request, stop.signal);
          failure = undefined;
        } catch (error) {
          if (stop.signal.aborted) throw error;
          failure = error;
          // An outage or a slow request while waiting: our key and lease are gone
          // (queueOnce revoked them); try again after the retry backoff, until waitMs.
          failures++;
          previousMs = this.#settings.retry.delayMs(failures, previousMs);
          await sleep(previousMs, { signal: stop.signal, clock });
          continue;
        }
        if (grant !== undefined) return grant;
        // Our key vanished while waiting (its lease ran out): queue again, at the back.
      }
    } catch (error) {
      if (stop.signal.reason === timedOut) {
        if (failure !== undefined) throw failure;
        return undefined;
      }
      if (request.signal.aborted) throw new AbortedError(request.signal.reason);
      throw error;
    } finally {
      clock.clearTimeout(timer);
      request.signal.removeEventListener('abort', onAbort);
    }
  }

  /**
   * Join the queue with a fresh lease and wait for our turn: the grant, or undefined
   * when our place was lost. Whatever stops the wait, our key and lease are gone before
   * this settles, so a timed-out or aborted waiter leaves nothing behind.
   */
  async #queueOnce(request: WaitRequest, stop: AbortSignal): Promise<LockGrant | undefined> {
    const client = this.#client;
    const { clock, releaseTimeoutMs } = this.#settings;
    if (stop.aborted) throw stop.reason;
    const dir = lockDir(client, this.#settings.prefix, request.key);
    const grantedAt = this.#settings.now();
    const lease = await this.#bounded(() => grantLease(client, leaseSeconds(request.ttlMs)), stop);
    let joined: Joined | undefined;
    const keepAlive = this.#keepWaiting(lease, request.ttlMs, grantedAt);
    try {
      joined = await this.#bounded(() => joinQueue(client, dir, request.token, lease.id), stop);
      await waitForTurn(client, joined, stop, request.contended, (run) => this.#bounded(run, stop));
      keepAlive.stop();
      return this.#grant(request.token, lease, joined.entry, keepAlive.confirmedFrom());
    } catch (error) {
      keepAlive.stop();
      // Revoking the lease deletes our key: the waiter behind us moves up.
      await revokeLease(client, lease.id, releaseTimeoutMs, clock).catch(() => {});
      if (error instanceof PlaceLostError && !stop.aborted) return undefined;
      throw error;
    }
  }

  /**
   * Renew a waiting lease in the background until stopped; `confirmedFrom` is the start
   * of the last renewal etcd confirmed (or of the grant).
   */
  #keepWaiting(
    lease: GrantedLease,
    ttlMs: number,
    grantedAt: number,
  ): { stop(): void; confirmedFrom(): number } {
    const { clock, requestTimeoutMs, now } = this.#settings;
    const everyMs = Math.max(1, ttlMs * WAITING_RENEW_FRACTION);
    let timer = clock.setTimeout(tick, everyMs);
    let stopped = false;
    let confirmed = grantedAt;
    const client = this.#client;
    function tick() {
      const start = now();
      renewLease(client, lease.id, requestTimeoutMs, clock).then(
        (alive) => {
          // A lease found gone shows up as our key gone when the wait looks again.
          if (alive && start > confirmed) confirmed = start;
          if (!stopped) timer = clock.setTimeout(tick, everyMs);
        },
        () => {
          if (!stopped) timer = clock.setTimeout(tick, everyMs);
        },
      );
    }
    return {
      stop() {
        stopped = true;
        clock.clearTimeout(timer);
      },
      confirmedFrom: () => confirmed,
    };
  }

  #grant(token: string, lease: GrantedLease, queued: QueueEntry, validFrom: number): EtcdGrant {
    const entry: Entry = { lease, queued, lost: undefined };
    this.#entries.set(token, entry);
    return {
      fence: queued.revision,
      validFrom,
      watch: (lost) => {
        entry.lost = lost;
        return () => {
          entry.lost = undefined;
        };
      },
    };
  }

  async renew(_key: string, token: string, ttlMs: number): Promise<'ok' | 'lost'> {
    const entry = this.#entries.get(token);
    if (entry === undefined) return 'lost';
    const { clock, requestTimeoutMs } = this.#settings;
    const seconds = leaseSeconds(ttlMs);
    const alive =
      seconds === entry.lease.ttlSeconds
        ? await renewLease(this.#client, entry.lease.id, requestTimeoutMs, clock)
        : await this.#rebind(entry, seconds);
    if (alive) return 'ok';
    // etcd says the lease is gone: the session ended, whatever the local deadline says.
    this.#entries.delete(token);
    entry.lost?.('session');
    return 'lost';
  }

  /**
   * A renewal with another TTL: etcd cannot change a lease's TTL, so move our key to a
   * new lease (only if it is still on the old one) and revoke the old lease. A put on an
   * existing key keeps its create revision, so the fence does not change.
   */
  async #rebind(entry: Entry, seconds: number): Promise<boolean> {
    const client = this.#client;
    const { clock, releaseTimeoutMs } = this.#settings;
    const next = await this.#bounded(() => grantLease(client, seconds));
    let moved = false;
    try {
      const reply = await this.#bounded(() =>
        client.kv.txn({
          compare: [
            { key: entry.queued.raw, target: 'Lease', result: 'Equal', lease: entry.lease.id },
          ],
          success: [{ request_put: { key: entry.queued.raw, lease: next.id, ignore_value: true } }],
          failure: [],
        }),
      );
      moved = reply.succeeded;
    } finally {
      const stale = moved ? entry.lease : next;
      if (moved) entry.lease = next;
      revokeQuietly(client, stale.id, releaseTimeoutMs, clock);
    }
    return moved;
  }

  async release(_key: string, token: string): Promise<boolean> {
    const entry = this.#entries.get(token);
    if (entry === undefined) return false;
    this.#entries.delete(token);
    const { clock, releaseTimeoutMs } = this.#settings;
    // The lease is the token: revoking it deletes our key (and nobody else's) in one
    // raft entry, and says whether it was still alive.
    return revokeLease(this.#client, entry.lease.id, releaseTimeoutMs, clock);
  }

  async close(): Promise<void> {
    this.#entries.clear();
  }
}
