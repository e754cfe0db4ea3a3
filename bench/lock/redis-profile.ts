/**
 * Diagnostic, not a suite: client CPU per Redis lock acquire + release, 100 in flight,
 * girder vs the bare two-EVALSHA ceiling, alternating rounds in one process. Meant for a
 * loaded machine, where ops/s is noise but CPU time per operation much less so.
 *
 *   npm run build && TSX_TSCONFIG_PATH=bench/tsconfig.json \
 *     node --import tsx bench/lock/redis-profile.ts [rounds] [opsPerRound] [only]
 *
 * `only` = `girder` | `nowatchdog` | `ceiling` runs one subject (for `node --cpu-prof`).
 */
import { PerformanceObserver } from 'node:perf_hooks';
import { type Locker, redisLock } from 'girder/lock';
import type { Redis } from 'ioredis';
import { benchRedis } from '../redis-client.js';
import { ACQUIRE, RELEASE } from './redis.bench.js';
import { StubRedis } from './stub-redis.js';

const rounds = Number(process.argv[2] ?? 9);
const perRound = Number(process.argv[3] ?? 20_000);
const only = process.argv[4];
const IN_FLIGHT = Number(process.env.IN_FLIGHT ?? 100);
const TTL_MS = 30_000;
const KEYS = Array.from({ length: 1_000 }, (_, i) => `order:${i}`);

const stub = process.env.STUB === '1';
const redis = stub ? { client: new StubRedis(), stop: async () => {} } : await benchRedis();
const client = redis.client as unknown as Redis;
const acquireSha = stub ? 'a' : ((await client.script('LOAD', ACQUIRE)) as string);
const releaseSha = stub ? 'r' : ((await client.script('LOAD', RELEASE)) as string);
const girder: Locker = redisLock(client, { prefix: 'p:lock', ttlMs: TTL_MS });
const noWatchdog: Locker = redisLock(client, {
  prefix: 'p:girder0',
  ttlMs: TTL_MS,
  watchdog: false,
});

const noTimeout: Locker = redisLock(client, {
  prefix: 'p:girder1',
  ttlMs: TTL_MS,
  commandTimeoutMs: 0,
});

// GC pause time, to see what retained objects cost.
let gcMs = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) gcMs += entry.duration;
}).observe({ entryTypes: ['gc'] });

type Op = (key: string) => Promise<unknown>;
const ops: Record<string, Op> = {
  girder: async (key) => {
    const lock = await girder.acquire(key);
    await lock.release();
  },
  nowatchdog: async (key) => {
    const lock = await noWatchdog.acquire(key);
    await lock.release();
  },
  notimeout: async (key) => {
    const lock = await noTimeout.acquire(key);
    await lock.release();
  },
  ceiling: async (key) => {
    const lockKey = `{p:bare:${key}}`;
    const token = `t-${key}`;
    await client.evalsha(acquireSha, 2, lockKey, `${lockKey}:fence`, token, TTL_MS);
    await client.evalsha(releaseSha, 1, lockKey, token);
  },
};

// Socket writes and bytes, to see how well auto-pipelining batches each subject.
let writes = 0;
let bytes = 0;
const stream = (client as unknown as { stream?: { write: (d: string | Buffer) => boolean } })
  .stream;
if (stream !== undefined) {
  const write = stream.write.bind(stream);
  stream.write = (d) => {
    writes++;
    bytes += d.length;
    return write(d);
  };
}

async function round(op: Op, n: number): Promise<[number, number]> {
  let issued = 0;
  const caller = async () => {
    while (issued < n) await op(KEYS[issued++ % 1_000]!);
  };
  gcMs = 0;
  writes = 0;
  bytes = 0;
  const cpu = process.cpuUsage();
  const start = performance.now();
  await Promise.all(Array.from({ length: IN_FLIGHT }, caller));
  const ms = performance.now() - start;
  const used = process.cpuUsage(cpu);
  if (process.env.WRITES)
    console.log(
      `  user ${(used.user / n).toFixed(1)} sys ${(used.system / n).toFixed(1)} gc ${((gcMs * 1000) / n).toFixed(1)} writes/op ${(writes / n).toFixed(3)} bytes/op ${(bytes / n).toFixed(0)}`,
    );
  return [(used.user + used.system) / n, (n / ms) * 1000];
}

const names = only === undefined ? Object.keys(ops) : [only];
const results: Record<string, Array<[number, number]>> = {};
for (const name of names) {
  await round(ops[name]!, 2_000); // warm-up
  results[name] = [];
}
for (let r = 0; r < rounds; r++) {
  for (const name of names) results[name]!.push(await round(ops[name]!, perRound));
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
for (const name of names) {
  const cpu = results[name]!.map(([c]) => c);
  const rate = results[name]!.map(([, r]) => r);
  console.log(
    `${name.padEnd(11)} CPU µs/op median ${median(cpu).toFixed(1)} min ${Math.min(...cpu).toFixed(1)}  ops/s median ${Math.round(median(rate))}`,
  );
}
// Load drifts between rounds; the ratio of adjacent rounds cancels most of it.
if (results.ceiling !== undefined) {
  for (const name of names.filter((n) => n !== 'ceiling')) {
    const ratios = results[name]!.map(([c], r) => c / results.ceiling![r]![0]);
    console.log(
      `${name.padEnd(11)} CPU / ceiling CPU, median of rounds: ${median(ratios).toFixed(2)}`,
    );
  }
}
await girder.close();
await noWatchdog.close();
await noTimeout.close();
await redis.stop();
