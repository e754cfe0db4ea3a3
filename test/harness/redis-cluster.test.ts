import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RedisCluster, sharedRedisCluster } from './index.js';

let cluster: RedisCluster;
beforeAll(async () => {
  cluster = await sharedRedisCluster();
});
afterAll(async () => {
  await cluster?.stop();
});

describe('startRedisCluster', () => {
  it('starts three masters that together cover all 16384 slots', async () => {
    expect(cluster.nodes).toHaveLength(3);
    const node = new Redis(cluster.nodes[0]!.port);
    try {
      const info = String(await node.call('CLUSTER', 'INFO'));
      expect(info).toContain('cluster_state:ok');
      expect(info).toContain('cluster_slots_assigned:16384');
      expect(info).toContain('cluster_size:3');
    } finally {
      node.disconnect();
    }
  });

  it('serves ioredis Cluster clients across slots, and routes hash-tagged keys to one node', async () => {
    const client = new Cluster([...cluster.startupNodes]);
    try {
      for (let i = 0; i < 30; i++) await client.set(`harness:${i}`, String(i));
      const masters = client.nodes('master');
      expect(masters).toHaveLength(3);
      const sizes = await Promise.all(masters.map((m) => m.dbsize()));
      expect(sizes.filter((n) => n > 0).length).toBeGreaterThan(1); // keys spread over nodes
      // One hash tag, one slot: a multi-key command across them works.
      await client.set('{tag}:a', '1');
      await client.set('{tag}:b', '2');
      expect(await client.mget('{tag}:a', '{tag}:b')).toEqual(['1', '2']);
    } finally {
      client.disconnect();
    }
  });

  it('sharedRedisCluster returns the same cluster to every caller in a process', async () => {
    expect(await sharedRedisCluster()).toBe(cluster);
  });
});
