// Cluster singleflight: N cache instances sharing an L2 and a girder/lock locker call
// the loader once in total. In-process with memory backends, then 3 real processes on
// Redis with redisLock.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { cache, memoryCacheStore } from '../../src/cache/index.js';
import { memoryLock } from '../../src/lock/index.js';
import { bundledEntry } from '../harness/bundle.js';
import { sharedRedisUrl, uniquePrefix } from '../harness/index.js';

const CHILD = fileURLToPath(new URL('./fixtures/cluster-child.ts', import.meta.url));

describe("singleflight: 'cluster'", () => {
  it('three instances in one process load once', async () => {
    const l2 = memoryCacheStore();
    const locker = memoryLock();
    const instances = [1, 2, 3].map(() =>
      cache<string>({ l1: { maxEntries: 10 }, l2, singleflight: 'cluster', locker }),
    );
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const loader = vi.fn(async () => {
      await gate;
      return 'v';
    });
    const calls = instances.flatMap((c) =>
      Array.from({ length: 50 }, () => c.getOrSet('k', loader)),
    );
    await vi.waitFor(() => expect(loader).toHaveBeenCalledTimes(1));
    release();
    expect(new Set(await Promise.all(calls))).toEqual(new Set(['v']));
    expect(loader).toHaveBeenCalledTimes(1);
    await Promise.all(instances.map((c) => c.close()));
  });

  it('falls back to a local load when the lock wait runs out', async () => {
    const l2 = memoryCacheStore();
    const locker = memoryLock();
    const held = await locker.acquire('cache:k', { ttlMs: 60_000 });
    const c = cache<string>({ l2, singleflight: 'cluster', locker, lockWaitMs: 50 });
    const fallbacks: unknown[] = [];
    c.events.on('lockFallback', (e) => fallbacks.push(e));
    expect(await c.getOrSet('k', async () => 'local')).toBe('local');
    expect(fallbacks).toHaveLength(1);
    await held.release();
    await c.close();
    await locker.close();
  });

  it('requires a locker and an l2', () => {
    expect(() => cache({ singleflight: 'cluster' })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS' }),
    );
  });

  it('three processes on Redis call the loader once in total', async () => {
    const prefix = uniquePrefix('cache-cluster-sf').slice(0, -1);
    const child = await bundledEntry(CHILD);
    const children = [1, 2, 3].map(() =>
      spawn(process.execPath, [child, sharedRedisUrl(), prefix, 'hot'], {
        stdio: ['pipe', 'pipe', 'inherit'],
      }),
    );
    const lines = children.map((child) => {
      const rl = createInterface({ input: child.stdout! });
      const queue: string[] = [];
      const waiters: ((line: string) => void)[] = [];
      rl.on('line', (line) => {
        const w = waiters.shift();
        if (w) w(line);
        else queue.push(line);
      });
      return () =>
        new Promise<string>((resolve) => {
          const line = queue.shift();
          if (line !== undefined) resolve(line);
          else waiters.push(resolve);
        });
    });
    try {
      expect(await Promise.all(lines.map((next) => next()))).toEqual(['ready', 'ready', 'ready']);
      for (const child of children) child.stdin!.write('go\n');
      const results = (await Promise.all(lines.map((next) => next()))).map(
        (line) => JSON.parse(line) as { value: string; loaderCalls: number },
      );
      expect(results.reduce((n, r) => n + r.loaderCalls, 0)).toBe(1);
      expect(new Set(results.map((r) => r.value)).size).toBe(1);
    } finally {
      for (const child of children) child.kill('SIGKILL');
    }
  }, 30_000);
});
