// Chaos on Redis with real signals and a real restart: a dedicated lock server
// (startRedis), the fenced resource on the shared server. Short TTLs keep it quick.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exponential } from '../../src/core/index.js';
import {
  FencedError,
  fencedRedis,
  type Lock,
  type LockLostError,
  redisLock,
} from '../../src/lock/index.js';
import { bundledEntry } from '../harness/bundle.js';
import { type RedisServer, sharedRedisUrl, startRedis, uniquePrefix } from '../harness/index.js';

const HOLDER = fileURLToPath(new URL('./fixtures/holder.ts', import.meta.url));
const retry = exponential({ initialMs: 5, maxMs: 50 });

let server: RedisServer;
const clients: Redis[] = [];
const children: ChildProcess[] = [];
const client = (url: string) => {
  const made = new Redis(url, { enableAutoPipelining: true });
  // While the server is down, every reconnect attempt emits 'error'; the lock sees the
  // same failures as rejected commands (and the test asserts what it makes of them).
  made.on('error', () => {});
  clients.push(made);
  return made;
};

beforeAll(async () => {
  server = await startRedis();
}, 30_000);

afterAll(async () => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  for (const c of clients) c.disconnect();
  await server?.stop();
});

/** A holder process: resolves once it holds the lock, with its fence and a line reader. */
async function startHolder(prefix: string, ttlMs: number) {
  const child = spawn(
    process.execPath,
    [await bundledEntry(HOLDER), server.url, sharedRedisUrl(), prefix, String(ttlMs)],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  children.push(child);
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const next = async () => {
    const { value, done } = await lines.next();
    if (done) throw new Error('holder exited early');
    return JSON.parse(value as string) as Record<string, unknown>;
  };
  const { fence } = (await next()) as { fence: number };
  return { child, fence, next };
}

const lostReason = (lock: Lock) =>
  new Promise<LockLostError>((resolve) => {
    if (lock.signal.aborted) resolve(lock.signal.reason as LockLostError);
    lock.signal.addEventListener('abort', () => resolve(lock.signal.reason as LockLostError));
  });

describe('redisLock under chaos', () => {
  it('a SIGKILLed holder keeps the key until its TTL runs out, then the next holder gets it', async () => {
    const prefix = uniquePrefix('lock chaos kill').slice(0, -1);
    // A TTL long enough that a CPU-starved test still asks before it runs out.
    const holder = await startHolder(prefix, 2_000);
    holder.child.kill('SIGKILL');
    await once(holder.child, 'exit');
    const locker = redisLock(client(server.url), { prefix, retry });
    expect(await locker.tryAcquire('res')).toBeUndefined(); // nobody released it
    const next = await locker.acquire('res', { waitMs: 5_000 });
    expect(next.fence).toBeGreaterThan(holder.fence);
    await locker.close();
  }, 30_000);

  it('a SIGSTOPped holder resumed past its TTL finds its signal aborted and its fenced write refused', async () => {
    const prefix = uniquePrefix('lock chaos stop').slice(0, -1);
    const holder = await startHolder(prefix, 500);
    holder.child.kill('SIGSTOP');
    const locker = redisLock(client(server.url), { prefix, retry });
    const resource = fencedRedis(client(sharedRedisUrl()), { prefix });
    try {
      const successor = await locker.acquire('res', { waitMs: 5_000 });
      expect(successor.fence).toBeGreaterThan(holder.fence);
      await resource.write('res', successor.fence, 'successor');
      holder.child.kill('SIGCONT');
      holder.child.stdin!.write('write\n');
      const report = await holder.next();
      expect(report.aborted).toBe(true);
      expect(['deadline', 'expired']).toContain(report.reason);
      expect(report.write).toBe('fenced');
      expect(await resource.read('res')).toEqual({ fence: successor.fence, value: 'successor' });
      expect(successor.held).toBe(true);
    } finally {
      holder.child.kill('SIGKILL');
      await locker.close();
      await resource.close();
    }
  }, 30_000);

  it('Redis restarted mid-hold: the holder learns it lost the lock, and the fenced resource never lets it overlap its successor', async () => {
    const prefix = uniquePrefix('lock chaos restart').slice(0, -1);
    const resource = fencedRedis(client(sharedRedisUrl()), { prefix });
    const first = redisLock(client(server.url), { prefix, ttlMs: 800, retry });
    const second = redisLock(client(server.url), { prefix, ttlMs: 800, retry });
    const accepted: number[] = [];
    const write = async (lock: Lock, value: string) => {
      await resource.write('res', lock.fence, value);
      accepted.push(lock.fence);
    };
    try {
      const lock = await first.acquire('res');
      await write(lock, 'first');
      await server.kill();
      await server.restart(); // no persistence: the lock and its fence counter are gone
      const successor = await second.acquire('res', { waitMs: 10_000 });
      // The fence counter restarts from the server clock, above every earlier fence.
      expect(successor.fence).toBeGreaterThan(lock.fence);
      await write(successor, 'second');
      const reason = await lostReason(lock);
      expect(reason).toMatchObject({ code: 'LOCK_LOST' });
      expect(['deadline', 'expired']).toContain(reason.reason);
      await expect(write(lock, 'stale')).rejects.toBeInstanceOf(FencedError);
      expect(accepted).toEqual([lock.fence, successor.fence]);
      expect(await resource.read('res')).toEqual({ fence: successor.fence, value: 'second' });
      expect(await successor.release()).toBe(true);
    } finally {
      await first.close();
      await second.close();
      await resource.close();
    }
  }, 30_000);
});
