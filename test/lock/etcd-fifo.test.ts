// etcd-only behaviour the shared contract cannot check: waiters are served in arrival
// order, a waiter that leaves the queue lets the one behind it move up, a renewal with
// another TTL keeps the fence, and a lease revoked behind the holder's back aborts its
// signal with reason 'session'.
import { Etcd3 } from 'etcd3';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { AbortedError, InvalidArgumentError, InvalidOptionsError } from '../../src/core/index.js';
import { etcdLock, type Lock, LockLostError, LockTimeoutError } from '../../src/lock/index.js';
import { sharedEtcdEndpoints, uniquePrefix } from '../harness/index.js';

const client = new Etcd3({ hosts: sharedEtcdEndpoints() });
afterAll(() => client.close());

const prefix = () => uniquePrefix('etcd lock', '/').replace(/\/$/, '');

/** Keys under a prefix, to check that nothing was left behind. */
async function keysUnder(p: string): Promise<string[]> {
  return client.getAll().prefix(`${p}/`).keys();
}

/** Resolve once `n` keys are queued under `p` (polls etcd; no fixed sleep). */
async function untilQueued(p: string, n: number): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if ((await keysUnder(p)).length >= n) return;
    await new Promise((r) => setImmediate(r));
  }
  throw new Error(`never saw ${n} queued keys under ${p}`);
}

describe('etcdLock: FIFO queue', () => {
  it('waiters get the lock in arrival order', async () => {
    const p = prefix();
    const locker = etcdLock(client, { prefix: p, ttlMs: 5_000, waitMs: 10_000 });
    const first = await locker.acquire('k');
    const order: number[] = [];
    const waiters: Promise<void>[] = [];
    const N = 6;
    for (let i = 0; i < N; i++) {
      waiters.push(
        locker.acquire('k').then(async (lock) => {
          order.push(i);
          await lock.release();
        }),
      );
      // Arrival order is the order etcd saw the waiters' keys.
      await untilQueued(p, i + 2);
    }
    await first.release();
    await Promise.all(waiters);
    expect(order).toEqual([0, 1, 2, 3, 4, 5]);
    expect(await keysUnder(p)).toEqual([]);
    await locker.close();
  });

  it('a release wakes only the next waiter; fences follow arrival order', async () => {
    const p = prefix();
    const locker = etcdLock(client, { prefix: p, ttlMs: 5_000, waitMs: 10_000 });
    const holder = await locker.acquire('k');
    let contended = 0;
    locker.events.on('contended', () => contended++);
    const a = locker.acquire('k');
    await untilQueued(p, 2);
    const b = locker.acquire('k');
    await untilQueued(p, 3);
    await holder.release();
    const lockA = await a;
    // b still waits behind a: its watch was on a's key, not on the holder's.
    expect(contended).toBe(2);
    await lockA.release();
    const lockB = await b;
    expect(holder.fence).toBeLessThan(lockA.fence);
    expect(lockA.fence).toBeLessThan(lockB.fence);
    await lockB.release();
    await locker.close();
  });

  it('a waiter that times out or aborts leaves the queue; the one behind moves up', async () => {
    const p = prefix();
    const locker = etcdLock(client, { prefix: p, ttlMs: 5_000 });
    const holder = await locker.acquire('k');
    const controller = new AbortController();
    const aborted = locker.acquire('k', { waitMs: 10_000, signal: controller.signal });
    await untilQueued(p, 2);
    const timedOut = locker.acquire('k', { waitMs: 300 });
    await untilQueued(p, 3);
    const last = locker.acquire('k', { waitMs: 10_000 });
    await untilQueued(p, 4);
    controller.abort();
    await expect(aborted).rejects.toBeInstanceOf(AbortedError);
    await expect(timedOut).rejects.toBeInstanceOf(LockTimeoutError);
    expect((await keysUnder(p)).length).toBe(2);
    await holder.release();
    const lock = await last;
    expect(lock.fence).toBeGreaterThan(holder.fence);
    await lock.release();
    expect(await keysUnder(p)).toEqual([]);
    await locker.close();
  });

  it('tryAcquire on a busy lock puts nothing in the queue', async () => {
    const p = prefix();
    const locker = etcdLock(client, { prefix: p, ttlMs: 5_000 });
    const holder = await locker.acquire('k');
    expect(await locker.tryAcquire('k')).toBeUndefined();
    await expect(locker.acquire('k', { waitMs: 0 })).rejects.toBeInstanceOf(LockTimeoutError);
    expect((await keysUnder(p)).length).toBe(1);
    await holder.release();
    await locker.close();
  });

  it('keys that share a prefix are separate locks', async () => {
    const p = prefix();
    const locker = etcdLock(client, { prefix: p, ttlMs: 5_000 });
    const a = await locker.acquire('a');
    const ab = await locker.tryAcquire('a/b');
    expect(ab).toBeDefined();
    await ab?.release();
    await a.release();
    await locker.close();
  });
});

describe('etcdLock: queue property', () => {
  it('whoever leaves the queue, the others get the lock one at a time, in arrival order, with rising fences', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.boolean(), { minLength: 1, maxLength: 5 }), async (leaves) => {
        const p = prefix();
        const locker = etcdLock(client, { prefix: p, ttlMs: 5_000, waitMs: 20_000 });
        const holder = await locker.acquire('k');
        const order: number[] = [];
        const fences: number[] = [holder.fence];
        let inside = 0;
        let most = 0;
        const controllers = leaves.map(() => new AbortController());
        const waiters = leaves.map(async (_, i) => {
          if (i > 0) await untilQueued(p, i + 1);
          return locker.acquire('k', { signal: controllers[i]!.signal }).then(async (lock) => {
            inside++;
            most = Math.max(most, inside);
            order.push(i);
            fences.push(lock.fence);
            await new Promise((r) => setImmediate(r));
            inside--;
            await lock.release();
          });
        });
        const outcomes = Promise.allSettled(waiters);
        await untilQueued(p, leaves.length + 1);
        leaves.forEach((leave, i) => {
          if (leave) controllers[i]!.abort();
        });
        await holder.release();
        const settled = await outcomes;
        const stayed = leaves.flatMap((leave, i) => (leave ? [] : [i]));
        expect(order).toEqual(stayed);
        expect(settled.map((r) => r.status)).toEqual(
          leaves.map((leave) => (leave ? 'rejected' : 'fulfilled')),
        );
        expect(most).toBeLessThanOrEqual(1);
        for (let i = 1; i < fences.length; i++) expect(fences[i]).toBeGreaterThan(fences[i - 1]!);
        expect(await keysUnder(p)).toEqual([]);
        await locker.close();
      }),
      { numRuns: 6 },
    );
  });
});

describe('etcdLock: leases', () => {
  it('extend with another TTL moves the key to a new lease and keeps the fence', async () => {
    const p = prefix();
    const locker = etcdLock(client, { prefix: p, ttlMs: 2_000, watchdog: false });
    const lock = await locker.acquire('k');
    const [before] = await client
      .getAll()
      .prefix(`${p}/`)
      .exec()
      .then((r) => r.kvs);
    await lock.extend(7_000);
    const [after] = await client
      .getAll()
      .prefix(`${p}/`)
      .exec()
      .then((r) => r.kvs);
    expect(after?.create_revision).toBe(before?.create_revision);
    expect(after?.lease).not.toBe(before?.lease);
    const ttl = await client.leaseClient.leaseTimeToLive({ ID: after!.lease });
    expect(Number(ttl.grantedTTL)).toBe(7);
    expect(lock.fence).toBe(Number(before?.create_revision));
    expect(await lock.release()).toBe(true);
    await locker.close();
  });

  it("a lease revoked behind the holder's back aborts its signal with 'session'", async () => {
    const p = prefix();
    // The watchdog's first keepalive comes at 10% of the TTL.
    const locker = etcdLock(client, {
      prefix: p,
      ttlMs: 3_000,
      watchdog: { renewAtFraction: 0.1 },
    });
    const lock: Lock = await locker.acquire('k');
    const lost = new Promise<unknown[]>((resolve) => {
      locker.events.on('lost', (e) => resolve([e.reason, lock.signal.reason]));
    });
    const [kv] = await client
      .getAll()
      .prefix(`${p}/`)
      .exec()
      .then((r) => r.kvs);
    await client.leaseClient.leaseRevoke({ ID: kv!.lease });
    const [reason, error] = await lost;
    expect(reason).toBe('session');
    expect(error).toBeInstanceOf(LockLostError);
    expect((error as LockLostError).reason).toBe('session');
    expect(lock.held).toBe(false);
    expect(await lock.release()).toBe(false);
    await locker.close();
  });

  it('release after the lease is gone resolves false', async () => {
    const p = prefix();
    const locker = etcdLock(client, { prefix: p, ttlMs: 5_000, watchdog: false });
    const lock = await locker.acquire('k');
    const [kv] = await client
      .getAll()
      .prefix(`${p}/`)
      .exec()
      .then((r) => r.kvs);
    await client.leaseClient.leaseRevoke({ ID: kv!.lease });
    expect(await lock.release()).toBe(false);
    await locker.close();
  });
});

describe('etcdLock: options and arguments', () => {
  it('refuses a misspelt option, a bad prefix or a non-etcd client', () => {
    expect(() => etcdLock(client, { prefx: 'x' } as never)).toThrow(InvalidOptionsError);
    expect(() => etcdLock(client, { prefix: 'x/' })).toThrow(InvalidOptionsError);
    expect(() => etcdLock(client, { requestTimeoutMs: 0 })).toThrow(InvalidOptionsError);
    expect(() => etcdLock({} as never)).toThrow(InvalidArgumentError);
    expect(() => etcdLock(null as never)).toThrow(InvalidArgumentError);
  });

  it('works inside a client namespace', async () => {
    const p = prefix();
    const ns = client.namespace(`${p}/ns/`);
    const locker = etcdLock(ns, { prefix: 'locks', ttlMs: 5_000, waitMs: 5_000 });
    const a = await locker.acquire('k');
    expect(await client.getAll().prefix(`${p}/ns/locks/k/`).keys()).toHaveLength(1);
    const b = locker.acquire('k');
    await untilQueued(`${p}/ns/locks`, 2);
    await a.release();
    const lock = await b;
    expect(lock.fence).toBeGreaterThan(a.fence);
    await lock.release();
    await locker.close();
  });
});
