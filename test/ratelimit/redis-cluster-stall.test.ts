// Defect 3 (issue 9) on Redis Cluster: freeze (SIGSTOP) the master owning a key's slot
// while decisions are in flight; they are denied by the fallback, and after SIGCONT the
// queued scripts reach that node past their deadline and change nothing.
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixedWindow, redisStore } from '../../src/ratelimit/index.js';
import { type RedisCluster, startRedisCluster, uniquePrefix } from '../harness/index.js';

let cluster: RedisCluster;
let client: Cluster;
beforeAll(async () => {
  cluster = await startRedisCluster();
  client = new Cluster([...cluster.startupNodes], { enableAutoPipelining: true });
  await client.ping();
});
afterAll(async () => {
  client?.disconnect();
  await cluster?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('a stalled cluster node costs no quota afterwards (regression: issue 9 defect 3)', () => {
  it('fixedWindow: calls denied while the key’s master is frozen are not counted when it resumes', async () => {
    const prefix = uniquePrefix('cluster stall').slice(0, -1);
    const limiter = fixedWindow({
      limit: 5,
      windowMs: 60_000,
      store: redisStore(client, { prefix, timeoutMs: 200 }),
      storeRetryMs: 100,
    });
    expect((await limiter.limit('k')).allowed).toBe(true);
    const key = `{${prefix}:${limiter.name}:k}`;
    const slot = Number(await client.call('CLUSTER', 'KEYSLOT', key));
    const owner = client.slots[slot]![0]!; // "host:port" of the slot's master
    const node = cluster.nodes.find((n) => owner.endsWith(`:${n.port}`))!;

    process.kill(node.pid!, 'SIGSTOP');
    let stalled: Array<{ allowed: boolean }>;
    try {
      stalled = await Promise.all(Array.from({ length: 4 }, () => limiter.limit('k')));
      await sleep(200);
    } finally {
      process.kill(node.pid!, 'SIGCONT');
    }
    expect(stalled.every((d) => !d.allowed)).toBe(true);
    await client.get(key); // same node, same connection: answered after the queued scripts
    await sleep(120);
    expect(await limiter.peek('k')).toMatchObject({ allowed: true, remaining: 4 });
  });
});
