/**
 * Diagnostic only: where the objects come from that outlive young-generation GC in a
 * girder acquire + release loop (100 in flight) on the stub client. Samples allocations
 * with V8's sampling heap profiler, keeping objects the minor GC collected out of the
 * report, and prints the allocating functions of what is left.
 *
 *   npm run build && TSX_TSCONFIG_PATH=bench/tsconfig.json \
 *     node --import tsx bench/lock/heap-sample.ts [commandTimeoutMs]
 */
import { Session } from 'node:inspector/promises';
import { redisLock } from 'girder/lock';
import type { Redis } from 'ioredis';
import { StubRedis } from './stub-redis.js';

const commandTimeoutMs = Number(process.argv[2] ?? 1_000);
const stub = new StubRedis();
const locker = redisLock(stub as unknown as Redis, {
  prefix: 'h',
  ttlMs: 30_000,
  commandTimeoutMs,
});
const KEYS = Array.from({ length: 1_000 }, (_, i) => `order:${i}`);
async function run(n: number) {
  let issued = 0;
  const caller = async () => {
    while (issued < n) {
      const key = KEYS[issued++ % 1_000]!;
      if (process.env.SUBJECT === 'ceiling') {
        const lockKey = `{p:bare:${key}}`;
        const token = `t-${key}`;
        await stub.evalsha('a', 2, lockKey, `${lockKey}:fence`, token, 30_000);
        await stub.evalsha('r', 1, lockKey, token);
      } else {
        const lock = await locker.acquire(key);
        await lock.release();
      }
    }
  };
  await Promise.all(Array.from({ length: 100 }, caller));
}
await run(20_000);
const session = new Session();
session.connect();
await session.post('HeapProfiler.startSampling', {
  samplingInterval: 256,
  includeObjectsCollectedByMajorGC: true,
  includeObjectsCollectedByMinorGC: process.env.ALL === '1',
});
const ops = 200_000;
await run(ops);
const { profile } = await session.post('HeapProfiler.stopSampling');
type Node = {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: Node[];
};
const bySite = new Map<string, number>();
const walk = (node: Node, path: string[]) => {
  const frame = `${node.callFrame.functionName || '(anon)'} ${node.callFrame.url.replace(/.*\/(dist|node_modules|bench)\//, '$1/')}:${node.callFrame.lineNumber}`;
  const here = [...path, frame];
  if (node.selfSize > 0) {
    const site = here.slice(-3).join(' < ');
    bySite.set(site, (bySite.get(site) ?? 0) + node.selfSize);
  }
  for (const child of node.children) walk(child, here);
};
walk(profile.head as Node, []);
let total = 0;
for (const size of bySite.values()) total += size;
console.log(`surviving minor GC: ${(total / ops).toFixed(0)} B/op`);
for (const [site, size] of [...bySite].sort((a, b) => b[1] - a[1]).slice(0, 25)) {
  console.log(`${(size / ops).toFixed(1).padStart(7)} B/op  ${site}`);
}
await locker.close();
