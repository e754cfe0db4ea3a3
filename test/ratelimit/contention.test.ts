// Exactness under contention: several worker PROCESSES (girder's source through tsx)
// hammer one key on the shared Redis at the same time.
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundledEntry } from '../harness/bundle.js';
import { sharedRedisUrl, uniquePrefix } from '../harness/index.js';

const WORKER = fileURLToPath(new URL('./fixtures/hammer-worker.ts', import.meta.url));
const WORKERS = 4;

interface Worker {
  child: ChildProcess;
  lines: AsyncIterator<string>;
  rl: Interface;
}

const workers: Worker[] = [];

async function nextLine(worker: Worker): Promise<Record<string, number | boolean>> {
  const { value, done } = await worker.lines.next();
  if (done) throw new Error('worker exited early');
  return JSON.parse(value as string);
}

beforeAll(async () => {
  for (let i = 0; i < WORKERS; i++) {
    const child = spawn(process.execPath, [await bundledEntry(WORKER), sharedRedisUrl()], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const rl = createInterface({ input: child.stdout! });
    workers.push({ child, rl, lines: rl[Symbol.asyncIterator]() });
  }
  for (const w of workers) expect(await nextLine(w)).toEqual({ ready: true });
}, 60_000);

afterAll(() => {
  for (const w of workers) {
    w.child.stdin?.end('exit\n');
    w.rl.close();
    w.child.kill();
  }
});

async function hammer(algorithm: string, limit: number, callsPerWorker: number) {
  const command = {
    algorithm,
    prefix: uniquePrefix(`contention ${algorithm}`).slice(0, -1),
    limit,
    calls: callsPerWorker,
    parallel: 16,
  };
  // Every worker gets its command before any result is read: they run concurrently.
  for (const w of workers) w.child.stdin!.write(`${JSON.stringify(command)}\n`);
  const results = await Promise.all(workers.map(nextLine));
  const allowed = results.reduce((sum, r) => sum + (r.allowed as number), 0);
  const maxInFlight = Math.max(...results.map((r) => r.maxInFlight as number));
  return { allowed, maxInFlight, perWorker: results.map((r) => r.allowed) };
}

describe('exact algorithms under contention from several processes', () => {
  const LIMIT = 400;
  const DEMAND = 250; // per worker: 1 000 in total, 2.5 x the limit

  it.each(['fixedWindow', 'slidingWindowLog', 'tokenBucket', 'leakyBucket'])(
    '%s never admits more than the limit and admits (at least 95% of) all of it',
    async (algorithm) => {
      const { allowed, perWorker } = await hammer(algorithm, LIMIT, DEMAND);
      expect(allowed).toBeLessThanOrEqual(LIMIT);
      expect(allowed).toBeGreaterThanOrEqual(Math.ceil(LIMIT * 0.95));
      // Really contended: more than one process got a share.
      expect(perWorker.filter((n) => (n as number) > 0).length).toBeGreaterThan(1);
    },
    60_000,
  );

  it('concurrencyLimit never has more than max holders in flight across processes', async () => {
    const { allowed, maxInFlight } = await hammer('concurrencyLimit', 5, 200);
    expect(maxInFlight).toBeLessThanOrEqual(5);
    expect(maxInFlight).toBeGreaterThan(1);
    expect(allowed).toBeGreaterThan(0);
  }, 60_000);
});
