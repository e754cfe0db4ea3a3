// Chaos on a dedicated etcd with real signals: a holder process SIGKILLed or SIGSTOPped,
// and etcd itself killed and restarted (same data, or wiped) while a lock is held.
import { type ChildProcess, spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { etcdLock, type Lock, type LockLostError } from '../../src/lock/index.js';
import { type EtcdServer, startEtcd, uniquePrefix } from '../harness/index.js';
import { fencedWrite } from './etcd-fenced.js';

const HOLDER = fileURLToPath(new URL('./etcd-holder.fixture.ts', import.meta.url));

let etcd: EtcdServer;
beforeAll(async () => {
  etcd = await startEtcd();
});
afterAll(async () => {
  await etcd?.stop();
});

/** A client that notices a dead server quickly and comes back as soon as it is up. */
function newClient(): Etcd3 {
  return new Etcd3({
    hosts: etcd.endpoints,
    // etcd3's default host breaker stays open 5 s after three failures: too long here.
    faultHandling: { host: () => ({ execute: async (fn: () => unknown) => fn() }) as never },
  });
}

interface Holder {
  child: ChildProcess;
  lines: AsyncIterator<string>;
  rl: Interface;
}

function spawnHolder(prefix: string, ttlMs: number, writeAfterMs: number): Holder {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      HOLDER,
      etcd.endpoints.join(','),
      prefix,
      'k',
      String(ttlMs),
      String(writeAfterMs),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const rl = createInterface({ input: child.stdout! });
  return { child, rl, lines: rl[Symbol.asyncIterator]() };
}

async function nextLine(holder: Holder): Promise<string> {
  const { value, done } = await holder.lines.next();
  if (done) throw new Error('holder exited early');
  return value;
}

const prefix = () => uniquePrefix('etcd chaos', '/').replace(/\/$/, '');

/** Resolve once `n` keys are queued under `p` (polls etcd; no fixed sleep). */
async function untilQueued(client: Etcd3, p: string, n: number): Promise<void> {
  for (let i = 0; i < 1_000; i++) {
    if ((await client.getAll().prefix(`${p}/k/`).keys()).length >= n) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`never saw ${n} queued keys under ${p}`);
}

describe('etcdLock chaos', () => {
  it('holder SIGKILLed: the next holder gets the lock once its lease runs out', async () => {
    const p = prefix();
    const holder = spawnHolder(p, 1_000, 60_000);
    const fence = Number((await nextLine(holder)).split(' ')[1]);
    holder.child.kill('SIGKILL');
    const client = newClient();
    const locker = etcdLock(client, { prefix: p, ttlMs: 1_000 });
    try {
      const lock = await locker.acquire('k', { waitMs: 10_000 });
      expect(lock.fence).toBeGreaterThan(fence);
      await lock.release();
    } finally {
      await locker.close();
      client.close();
      holder.rl.close();
    }
  });

  it('holder SIGSTOPped past its TTL: its signal has aborted and its fenced write is refused', async () => {
    const p = prefix();
    // The holder writes 300 ms after acquiring: we freeze it before that.
    const holder = spawnHolder(p, 1_000, 300);
    const staleFence = Number((await nextLine(holder)).split(' ')[1]);
    holder.child.kill('SIGSTOP');
    const client = newClient();
    const locker = etcdLock(client, { prefix: p, ttlMs: 1_000 });
    try {
      // Frozen, the holder renews nothing: its lease expires and we take over.
      const lock = await locker.acquire('k', { waitMs: 10_000 });
      expect(lock.fence).toBeGreaterThan(staleFence);
      expect(await fencedWrite(client, `${p}/resource`, lock.fence, 'from the new holder')).toBe(
        'ok',
      );
      holder.child.kill('SIGCONT');
      const outcome = JSON.parse(await nextLine(holder));
      expect(outcome).toEqual({ held: false, aborted: true, reason: 'deadline', write: 'refused' });
      const data = await client.get(`${p}/resource/data`).string();
      expect(data).toBe('from the new holder');
      await lock.release();
    } finally {
      holder.child.kill('SIGCONT');
      await locker.close();
      client.close();
      holder.rl.close();
    }
  });

  it('etcd killed and restarted past the TTL: the holder is told first, then the next holder takes over', async () => {
    const p = prefix();
    const clientA = newClient();
    const clientB = newClient();
    const a = etcdLock(clientA, { prefix: p, ttlMs: 1_000 });
    const b = etcdLock(clientB, { prefix: p, ttlMs: 1_000 });
    try {
      const lockA = await a.acquire('k');
      let abortedAt = 0;
      lockA.signal.addEventListener('abort', () => {
        abortedAt = performance.now();
      });
      await etcd.kill();
      // Down until A's local deadline has passed: A must have been told.
      await new Promise<void>((resolve) => lockA.signal.addEventListener('abort', () => resolve()));
      await etcd.restart();
      expect((lockA.signal.reason as LockLostError).reason).toBe('deadline');
      // A does not release (it may be partitioned): B waits out the lease etcd restored.
      const lockB = await b.acquire('k', { waitMs: 15_000 });
      const acquiredAt = performance.now();
      expect(abortedAt).toBeGreaterThan(0);
      expect(abortedAt).toBeLessThan(acquiredAt);
      expect(lockB.fence).toBeGreaterThan(lockA.fence);
      expect(await lockA.release()).toBe(false);
      await lockB.release();
    } finally {
      await a.close();
      await b.close();
      clientA.close();
      clientB.close();
    }
  });

  it('etcd stalled (SIGSTOP) while a caller starts waiting: its timed-out requests are retried until it queues', async () => {
    const p = prefix();
    const client = newClient();
    const holderLocker = etcdLock(client, { prefix: p, ttlMs: 5_000 });
    const waiterLocker = etcdLock(client, { prefix: p, ttlMs: 5_000, requestTimeoutMs: 200 });
    try {
      const holder = await holderLocker.acquire('k');
      let failed = false;
      process.kill(etcd.pid!, 'SIGSTOP');
      let waiting: Promise<Lock>;
      try {
        waiting = waiterLocker.acquire('k', { waitMs: 15_000 });
        waiting.catch(() => {
          failed = true;
        });
        // Long enough for several requests to time out and be retried.
        await new Promise((resolve) => setTimeout(resolve, 800));
      } finally {
        process.kill(etcd.pid!, 'SIGCONT');
      }
      await untilQueued(client, p, 2);
      expect(failed).toBe(false);
      await holder.release();
      const lock = await waiting;
      expect(lock.fence).toBeGreaterThan(holder.fence);
      await lock.release();
    } finally {
      await holderLocker.close();
      await waiterLocker.close();
      client.close();
    }
  });

  it("etcd restarted with its data wiped: the holder's next keepalive ends the session", async () => {
    const p = prefix();
    const client = newClient();
    // Keepalives every 10% of a 3 s TTL, so one lands soon after the restart.
    const locker = etcdLock(client, {
      prefix: p,
      ttlMs: 3_000,
      watchdog: { renewAtFraction: 0.1 },
    });
    try {
      // Push the revision up so that fences before the wipe are clearly higher.
      for (let i = 0; i < 20; i++) await client.put(`${p}/filler`).value(String(i));
      const lock = await locker.acquire('k');
      expect(await fencedWrite(client, `${p}/resource`, lock.fence, 'before')).toBe('ok');
      const lost = new Promise<string>((resolve) =>
        locker.events.on('lost', (e) => resolve(e.reason)),
      );
      await etcd.kill();
      await rm(etcd.dataDir, { recursive: true, force: true });
      await etcd.restart();
      expect(await lost).toBe('session');
      expect(lock.signal.aborted).toBe(true);
      // A new holder on the wiped cluster gets a lower fence: etcd's revisions restarted.
      const next = await locker.acquire('k', { waitMs: 5_000 });
      expect(next.fence).toBeLessThan(lock.fence);
      await next.release();
    } finally {
      await locker.close();
      client.close();
    }
  });
});
