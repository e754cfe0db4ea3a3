// core's Redis layer through ioredis Cluster on a real 3-master Redis Cluster.
import type { Cluster } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { RedisCommandError, redisKey, redisRunner, redisScript } from '../../src/core/index.js';
import { openRedisClient, uniquePrefix } from '../harness/index.js';

const cluster = (await openRedisClient('redis-cluster')) as Cluster;
afterAll(() => cluster.disconnect());

// Two keys of one tag, touched by one script: only possible when they share a slot.
const PAIR = redisScript(`redis.call('SET', KEYS[1], ARGV[1], 'PX', 60000)
redis.call('SET', KEYS[2], ARGV[1], 'PX', 60000)
return redis.call('MGET', KEYS[1], KEYS[2])`);

const tags = Array.from({ length: 24 }, (_, i) => `user:${i}`);

describe('redisRunner on Redis Cluster', () => {
  it('runs multi-key scripts on keys of one tag, on every node', async () => {
    const runner = redisRunner(cluster);
    const prefix = uniquePrefix('cluster pair').slice(0, -1);
    const slots = new Set<unknown>();
    for (const tag of tags) {
      const keys = [redisKey(prefix, tag, 'a'), redisKey(prefix, tag, 'b')];
      expect(await runner.eval(PAIR, keys, [tag])).toEqual([tag, tag]);
      slots.add(await cluster.call('CLUSTER', 'KEYSLOT', keys[0]!));
    }
    // The keys were spread over the cluster, so every node ran the script.
    const perNode = await Promise.all(cluster.nodes('master').map((n) => n.dbsize()));
    expect(perNode.every((n) => n > 0)).toBe(true);
    expect(slots.size).toBeGreaterThan(3);
  });

  it('falls back to EVAL per node after SCRIPT FLUSH on every master (NOSCRIPT is per node)', async () => {
    const runner = redisRunner(cluster);
    const prefix = uniquePrefix('cluster noscript').slice(0, -1);
    const run = (tag: string) =>
      runner.eval(PAIR, [redisKey(prefix, tag, 'a'), redisKey(prefix, tag, 'b')], ['v']);
    for (const tag of tags) await run(tag);
    await Promise.all(cluster.nodes('master').map((n) => n.call('SCRIPT', 'FLUSH')));
    // Now flush one node only: the others still know the script.
    for (const tag of tags) expect(await run(tag)).toEqual(['v', 'v']);
    await cluster.nodes('master')[0]!.call('SCRIPT', 'FLUSH');
    for (const tag of tags) expect(await run(tag)).toEqual(['v', 'v']);
    const shas = await Promise.all(
      cluster.nodes('master').map((n) => n.call('SCRIPT', 'EXISTS', PAIR.sha)),
    );
    expect(shas).toEqual([[1], [1], [1]]);
  });

  it('reads every master clock for deadlines: an already-past deadline expires on any node', async () => {
    const runner = redisRunner(cluster, { clockSkewMs: 5_000 });
    const prefix = uniquePrefix('cluster expired').slice(0, -1);
    for (const tag of tags.slice(0, 6)) {
      const keys = [redisKey(prefix, tag, 'a'), redisKey(prefix, tag, 'b')];
      await expect(runner.eval(PAIR, keys, ['v'])).rejects.toMatchObject({ reason: 'expired' });
      expect(await cluster.exists(keys[0]!)).toBe(0);
    }
  });

  it('a script error on a cluster node is a command error, not an outage', async () => {
    const runner = redisRunner(cluster);
    const bad = redisScript(`return redis.call('INCRBY', KEYS[1], ARGV[1])`);
    await expect(runner.eval(bad, [redisKey('p', 'x')], ['nope'])).rejects.toBeInstanceOf(
      RedisCommandError,
    );
  });
});
