// The contract every lock backend honours (memory, Redis, Redis Cluster; etcd adds its
// own run with `describeLockContract`). Real time with short TTLs: the watchdog and the
// deadlines are part of what is tested. Manual-clock unit tests live in memory.test.ts.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { AbortedError, exponential, sleep } from '../../src/core/index.js';
import type { Lock, Locker, LockerOptions, LockLostError } from '../../src/lock/index.js';

/** What a backend run of the contract provides. */
export interface LockContractEnv {
  /**
   * `count` lockers sharing one namespace (as separate processes on one server would:
   * separate clients or locker instances where the backend allows, one table for
   * memory), on a namespace no other test uses. Closed by the suite.
   */
  lockers(count: number, options?: LockerOptions): Locker[];
  /** Build a locker with these (possibly invalid) factory options. */
  make(options: unknown): unknown;
  /**
   * How the cross-process mutual exclusion runs. `processes`: the fixture
   * test/lock/fixtures/contender.ts is spawned per worker and imports `factoryModule`
   * (a file exporting `makeLocker(config, prefix): Promise<Locker>`), passing `config`.
   * `in-process`: workers share `lockers(1)` in this process (memory).
   */
  readonly contenders:
    | { readonly kind: 'in-process' }
    | { readonly kind: 'processes'; readonly factoryModule: string; readonly config: unknown };
}

const CONTENDER = fileURLToPath(new URL('./fixtures/contender.ts', import.meta.url));
const WORKERS = 4;
const CONTENDERS = 50;
const fastRetry = () => exponential({ initialMs: 2, maxMs: 40, jitter: 'full' });

/** Resolves with the lock signal's reason once it aborts. */
const lostReason = (lock: Lock) =>
  new Promise<LockLostError>((resolve) => {
    if (lock.signal.aborted) resolve(lock.signal.reason as LockLostError);
    lock.signal.addEventListener('abort', () => resolve(lock.signal.reason as LockLostError));
  });

/** Run the lock contract for one backend (call inside `describeBackends`). */
export function describeLockContract(_backend: string, env: () => LockContractEnv): void {
  const opened: Locker[] = [];
  const lockers = (count: number, options?: LockerOptions) => {
    const made = env().lockers(count, options);
    opened.push(...made);
    return made;
  };
  const one = (options?: LockerOptions) => lockers(1, options)[0]!;
  afterAll(async () => {
    await Promise.all(opened.map((l) => l.close()));
  });

  describe('acquire and release', () => {
    it('hands out a held lock with a random token and a positive integer fence', async () => {
      const locker = one();
      const a = await locker.acquire('k');
      const b = await locker.acquire('other');
      expect(a.key).toBe('k');
      expect(a.held).toBe(true);
      expect(a.signal.aborted).toBe(false);
      expect(Number.isSafeInteger(a.fence) && a.fence > 0).toBe(true);
      expect(a.token).not.toBe(b.token);
      expect(await a.release()).toBe(true);
      expect(a.held).toBe(false);
      expect(await a.release()).toBe(true); // idempotent
      expect(await b.release()).toBe(true);
    });

    it('tryAcquire answers undefined while another holds the key, and the lock after release', async () => {
      const [a, b] = lockers(2);
      const contended: string[] = [];
      b!.events.on('contended', ({ key }) => contended.push(key));
      const held = await a!.acquire('k');
      expect(await b!.tryAcquire('k')).toBeUndefined();
      expect(contended).toEqual(['k']);
      await held.release();
      const next = await b!.tryAcquire('k');
      expect(next?.held).toBe(true);
      await next?.release();
    });

    it('acquire waits for a release within waitMs', async () => {
      const [a, b] = lockers(2, { retry: fastRetry() });
      const held = await a!.acquire('k');
      const waiting = b!.acquire('k', { waitMs: 5_000 });
      await sleep(50);
      await held.release();
      const next = await waiting;
      expect(next.fence).toBeGreaterThan(held.fence);
      await next.release();
    });

    it('events: acquired (with waitedMs), released (with heldMs)', async () => {
      const locker = one();
      const seen: string[] = [];
      locker.events.on('acquired', (e) => {
        expect(e.waitedMs).toBeGreaterThanOrEqual(0);
        seen.push(`acquired:${e.key}`);
      });
      locker.events.on('released', (e) => {
        expect(e.heldMs).toBeGreaterThanOrEqual(0);
        seen.push(`released:${e.key}`);
      });
      const lock = await locker.acquire('k');
      await lock.release();
      expect(seen).toEqual(['acquired:k', 'released:k']);
    });
  });

  describe('held()', () => {
    it('lists the locks this locker holds now, with fence, times and renewals', async () => {
      const [a, b] = lockers(2, { watchdog: false });
      expect(a!.held()).toEqual([]);
      const before = Date.now();
      const first = await a!.acquire('k1', { ttlMs: 20_000 });
      const second = await a!.acquire('k2', { ttlMs: 10_000 });
      const other = await b!.acquire('k3');
      await second.extend(10_000);
      const after = Date.now();
      const listed = a!.held();
      // Memory hands out one shared locker: then b's lock is a's too.
      const shared = a === b;
      const ofB: [string, number, number, number][] = [['k3', other.fence, 30_000, 0]];
      expect(listed.map((l) => [l.key, l.fence, l.ttlMs, l.renewals])).toEqual([
        ['k1', first.fence, 20_000, 0],
        ['k2', second.fence, 10_000, 1],
        ...(shared ? ofB : []),
      ]);
      for (const info of listed) {
        // Monotonic times shown on the wall clock: within the calls, give or take 1 ms.
        expect(info.acquiredAt).toBeGreaterThanOrEqual(before - 1);
        expect(info.acquiredAt).toBeLessThanOrEqual(after + 1);
        // The local deadline: the TTL minus drift and margin, from the last confirmed start.
        expect(info.expiresAt).toBeGreaterThan(info.acquiredAt + info.ttlMs / 2);
        expect(info.expiresAt).toBeLessThan(after + info.ttlMs);
      }
      expect(b!.held().map((l) => l.key)).toEqual(shared ? ['k1', 'k2', 'k3'] : ['k3']);
      await first.release();
      expect(a!.held().map((l) => l.key)).toEqual(shared ? ['k2', 'k3'] : ['k2']);
      await second.release();
      await other.release();
      expect(a!.held()).toEqual([]);
      expect(b!.held()).toEqual([]);
    });

    it('drops a lock once its local deadline passes', async () => {
      const locker = one({ watchdog: false });
      const lock = await locker.acquire('k', { ttlMs: 200 });
      expect(locker.held()).toHaveLength(1);
      await lostReason(lock);
      expect(locker.held()).toEqual([]);
      await lock.release();
    });
  });

  describe('waiting', () => {
    it('times out with LOCK_TIMEOUT (and a timeout event) when the key stays busy', async () => {
      const [a, b] = lockers(2, { retry: fastRetry() });
      const held = await a!.acquire('k');
      const timeouts: number[] = [];
      b!.events.on('timeout', (e) => timeouts.push(e.waitedMs));
      const error = await b!.acquire('k', { waitMs: 150 }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'LOCK_TIMEOUT', key: 'k' });
      expect((error as { waitedMs: number }).waitedMs).toBeGreaterThanOrEqual(149);
      expect(timeouts).toHaveLength(1);
      // waitMs 0 means one attempt
      await expect(b!.acquire('k', { waitMs: 0 })).rejects.toMatchObject({ code: 'LOCK_TIMEOUT' });
      await held.release();
    });

    it('an abort while waiting rejects at once with ABORTED and leaves no lock behind', async () => {
      const [a, b] = lockers(2, { retry: fastRetry() });
      const held = await a!.acquire('k');
      const controller = new AbortController();
      const waiting = b!.acquire('k', { waitMs: 60_000, signal: controller.signal });
      await sleep(30);
      controller.abort(new Error('user left'));
      const error = await waiting.catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AbortedError);
      expect(held.held).toBe(true); // the holder never let go: the wait really ended at once
      await held.release();
      const next = await a!.tryAcquire('k');
      expect(next).toBeDefined();
      await next?.release();
    });

    it('an already aborted signal refuses before taking the lock', async () => {
      const locker = one();
      await expect(locker.acquire('k', { signal: AbortSignal.abort() })).rejects.toMatchObject({
        code: 'ABORTED',
      });
      const lock = await locker.tryAcquire('k');
      expect(lock).toBeDefined();
      await lock?.release();
    });
  });

  describe('watchdog and deadline', () => {
    it('the watchdog keeps a lock past its TTL', async () => {
      const [a, b] = lockers(2);
      const extended: number[] = [];
      a!.events.on('extended', (e) => extended.push(e.ttlMs));
      const lock = await a!.acquire('k', { ttlMs: 300 });
      await sleep(900);
      expect(lock.held).toBe(true);
      expect(lock.signal.aborted).toBe(false);
      expect(extended.length).toBeGreaterThanOrEqual(2);
      expect(await b!.tryAcquire('k')).toBeUndefined();
      expect(await lock.release()).toBe(true);
    });

    it('without the watchdog the signal aborts (deadline/expired) and the key frees after the TTL', async () => {
      const [a, b] = lockers(2, { watchdog: false, retry: fastRetry() });
      const lost: string[] = [];
      a!.events.on('lost', (e) => lost.push(e.reason));
      const lock = await a!.acquire('k', { ttlMs: 300 });
      const reason = await lostReason(lock);
      expect(reason).toMatchObject({ code: 'LOCK_LOST', key: 'k', fence: lock.fence });
      expect(['deadline', 'expired']).toContain(reason.reason);
      expect(lost).toEqual([reason.reason]);
      expect(lock.held).toBe(false);
      const next = await b!.acquire('k', { waitMs: 2_000 });
      expect(next.fence).toBeGreaterThan(lock.fence);
      await next.release();
    });

    it('extend renews for a new TTL', async () => {
      const locker = one({ watchdog: false });
      // A TTL long enough that a starved event loop still extends before the local
      // deadline (a late reply is rightly treated as lost); the sleep outlives it.
      const lock = await locker.acquire('k', { ttlMs: 1_000 });
      await lock.extend(5_000);
      await sleep(1_300);
      expect(lock.held).toBe(true);
      await lock.release();
      await expect(lock.extend()).rejects.toMatchObject({ code: 'LOCK_NOT_HELD' });
    });
  });

  describe('a stale holder is refused', () => {
    it("an expired-and-retaken lock's old handle can neither release nor extend the new holder's lock", async () => {
      const [a, b, c] = lockers(3, { watchdog: false, retry: fastRetry() });
      const stale = await a!.acquire('k', { ttlMs: 200 });
      const fresh = await b!.acquire('k', { ttlMs: 10_000, waitMs: 3_000 });
      expect(fresh.fence).toBeGreaterThan(stale.fence);
      await expect(stale.extend()).rejects.toMatchObject({ code: 'LOCK_LOST' });
      expect(await stale.release()).toBe(false);
      expect(fresh.held).toBe(true);
      expect(await c!.tryAcquire('k')).toBeUndefined(); // still the fresh holder's
      expect(await fresh.release()).toBe(true);
    });

    it('fences strictly increase across every holder', async () => {
      const all = lockers(3);
      const fences: number[] = [];
      for (let i = 0; i < 15; i++) {
        const lock = await all[i % all.length]!.acquire('k');
        fences.push(lock.fence);
        await lock.release();
      }
      for (let i = 1; i < fences.length; i++) expect(fences[i]!).toBeGreaterThan(fences[i - 1]!);
    });
  });

  describe('using', () => {
    it('runs work under the lock, returns its value and releases', async () => {
      const [a, b] = lockers(2);
      const value = await a!.using('k', async (signal, lock) => {
        expect(signal.aborted).toBe(false);
        expect(lock.held).toBe(true);
        expect(await b!.tryAcquire('k')).toBeUndefined();
        return 42;
      });
      expect(value).toBe(42);
      const next = await b!.tryAcquire('k');
      expect(next).toBeDefined();
      await next?.release();
    });

    it("rethrows work's error after releasing", async () => {
      const locker = one();
      await expect(
        locker.using('k', () => {
          throw new Error('work failed');
        }),
      ).rejects.toThrow('work failed');
      const next = await locker.tryAcquire('k');
      expect(next).toBeDefined();
      await next?.release();
    });

    it("work's signal aborts when the caller's signal aborts", async () => {
      const locker = one();
      const controller = new AbortController();
      const run = locker.using(
        'k',
        (signal) =>
          new Promise((_, reject) => {
            signal.addEventListener('abort', () => reject(signal.reason));
            controller.abort();
          }),
        { signal: controller.signal },
      );
      await expect(run).rejects.toMatchObject({ code: 'ABORTED' });
    });

    it("work's signal aborts when the lock is lost", async () => {
      const locker = one({ watchdog: false });
      const run = locker.using(
        'k',
        (signal) =>
          new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
        { ttlMs: 200 },
      );
      await expect(run).rejects.toMatchObject({ code: 'LOCK_LOST' });
    });
  });

  describe('close', () => {
    it('releases held locks (their signal aborts with "closed") and refuses new ones', async () => {
      const [a, b] = lockers(2);
      const lock = await a!.acquire('k');
      await a!.close();
      expect((lock.signal.reason as LockLostError).reason).toBe('closed');
      expect(lock.held).toBe(false);
      await expect(a!.acquire('x')).rejects.toMatchObject({ code: 'LOCKER_CLOSED' });
      if (b === a) return; // memory: one table per locker, closed with it
      const next = await b!.tryAcquire('k'); // released on the server, not left to expire
      expect(next).toBeDefined();
      await next?.release();
    });
  });

  describe('invalid input', () => {
    it('a misspelt or out-of-range factory option throws INVALID_OPTIONS naming it', () => {
      expect(() => env().make({ ttlMS: 1_000 })).toThrow(/ttlMS/);
      expect(() => env().make({ ttlMS: 1_000 })).toThrow(
        expect.objectContaining({ code: 'INVALID_OPTIONS' }),
      );
      expect(() => env().make({ ttlMs: -1 })).toThrow(
        expect.objectContaining({ code: 'INVALID_OPTIONS' }),
      );
      expect(() => env().make({ watchdog: { renewAtFraction: 1 } })).toThrow(
        expect.objectContaining({ code: 'INVALID_OPTIONS' }),
      );
    });

    it('bad keys, TTLs, options and signals reject with INVALID_ARGUMENT and take nothing', async () => {
      const locker = one();
      const bad: Array<() => Promise<unknown>> = [
        () => locker.acquire(''),
        () => locker.acquire(42 as never),
        () => locker.acquire('k', { ttlMs: 0 }),
        () => locker.acquire('k', { ttlMs: -5 }),
        () => locker.acquire('k', { ttlMs: 1.5 }),
        () => locker.acquire('k', { ttlMs: Number.NaN }),
        () => locker.acquire('k', { ttlMs: 5 }), // no time left after drift and margin
        () => locker.acquire('k', { waitMs: -1 }),
        () => locker.acquire('k', { waitMS: 10 } as never),
        () => locker.acquire('k', { signal: new AbortController() as never }),
        () => locker.acquire('k', { watchdog: { renewAtFraction: 2 } }),
        () => locker.acquire('k', null as never),
        () => locker.tryAcquire('k', { waitMs: 10 } as never),
        () => locker.using('k', 'work' as never),
        () => locker.using('', async () => 1),
      ];
      for (const call of bad) {
        await expect(call()).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      }
      const lock = await locker.tryAcquire('k');
      expect(lock).toBeDefined(); // nothing was taken by the refused calls
      await lock?.release();
      await expect(lock!.extend(0)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    });
  });

  describe('mutual exclusion', () => {
    it(`${WORKERS} workers x ${CONTENDERS} contenders: a read-sleep-write counter loses no update`, async () => {
      const contenders = env().contenders;
      if (contenders.kind === 'in-process') {
        const locker = one({ retry: fastRetry() });
        let counter = 0;
        let inside = 0;
        let maxInside = 0;
        const contender = () =>
          locker.using(
            'counter',
            async () => {
              inside++;
              maxInside = Math.max(maxInside, inside);
              const read = counter;
              await sleep(1);
              counter = read + 1;
              inside--;
            },
            { waitMs: 60_000 },
          );
        const workers = Array.from({ length: WORKERS }, () =>
          Promise.all(Array.from({ length: CONTENDERS }, contender)),
        );
        await Promise.all(workers);
        expect(counter).toBe(WORKERS * CONTENDERS);
        expect(maxInside).toBe(1);
        return;
      }
      const dir = await mkdtemp(join(tmpdir(), 'girder-lock-'));
      const file = join(dir, 'counter');
      await writeFile(file, '0');
      const prefix = `mx-${process.pid}-${Date.now()}`;
      try {
        const children: ChildProcess[] = [];
        const exits = Array.from({ length: WORKERS }, () => {
          const child = spawn(
            process.execPath,
            [
              '--import',
              'tsx',
              CONTENDER,
              contenders.factoryModule,
              JSON.stringify(contenders.config),
              prefix,
              file,
              String(CONTENDERS),
            ],
            { stdio: ['ignore', 'pipe', 'inherit'] },
          );
          children.push(child);
          let out = '';
          child.stdout!.on('data', (chunk) => {
            out += chunk;
          });
          return new Promise<string>((resolve, reject) => {
            child.on('error', reject);
            child.on('exit', (code) =>
              code === 0 ? resolve(out) : reject(new Error(`contender exited with ${code}`)),
            );
          });
        });
        const outputs = await Promise.all(exits);
        const done = outputs.map(
          (o) => JSON.parse(o.trim().split('\n').at(-1)!) as { done: number },
        );
        expect(done.map((d) => d.done)).toEqual(Array(WORKERS).fill(CONTENDERS));
        expect(Number(await readFile(file, 'utf8'))).toBe(WORKERS * CONTENDERS);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }, 120_000);
  });
}
