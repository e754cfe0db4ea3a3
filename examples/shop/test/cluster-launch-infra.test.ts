// The cluster launcher end to end with stand-in service instances (the shop's services
// cannot yet run one per process): real etcd, Redis and PostgreSQL, every role's
// instances started and registered in etcd with their weight, the database migrated,
// a weight change reaching etcd, a killed instance reported, and close() taking it all down.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Etcd3 } from 'etcd3';
import { etcdRegistry } from 'girder/registry';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { startCluster } from '../src/cluster/launch.js';
import { CLUSTER_ROLES } from '../src/cluster/roles.js';
import { eventually, isAlive } from './processes.js';

const STANDIN = fileURLToPath(new URL('./cluster-fixtures/service-standin.ts', import.meta.url));

describe('cluster launcher', () => {
  it('starts the infrastructure and every instance, and takes them all down', async () => {
    const lines: string[] = [];
    const cluster = await startCluster({
      env: { PATH: process.env.PATH, SHOP_RPC_WEIGHT: '2' },
      execArgv: ['--import', 'tsx'],
      servicesReady: true,
      serviceEntry: STANDIN,
      output: (line) => lines.push(line),
    });
    const instances = cluster.supervisor.instances();
    const servers = cluster.infra.servers;
    const etcd = new Etcd3({ hosts: cluster.infra.endpoints.etcdEndpoints });
    const registry = etcdRegistry(etcd, { prefix: 'shop-test/services', requestTimeoutMs: 20_000 });
    try {
      expect(instances.map((i) => i.id).sort()).toEqual(
        CLUSTER_ROLES.flatMap(({ role, count }) =>
          Array.from({ length: count }, (_, n) => `${role}#${n + 1}`),
        ).sort(),
      );
      expect(cluster.gatewayEnv).toMatchObject({
        SHOP_TRANSPORT: 'grpc',
        // The gateway's own database; each role has its own (cluster/databases.ts).
        DATABASE_URL: cluster.infra.endpoints.roleDatabaseUrls?.gateway,
        REDIS_URL: cluster.infra.endpoints.redisUrl,
      });
      expect(cluster.gatewayEnv.SHOP_JWT_SECRET).toMatch(/^[\w-]{40,}$/);

      // The orders database was migrated before any instance started.
      const db = new pg.Client({
        connectionString: cluster.infra.endpoints.roleDatabaseUrls?.orders,
      });
      await db.connect();
      const tables = await db.query(
        "SELECT count(*)::int AS n FROM information_schema.tables WHERE table_name = 'orders'",
      );
      await db.end();
      expect(tables.rows[0].n).toBe(1);

      // Both inventory instances are registered with the weight from the environment.
      const inventory = registry.discover('inventory');
      await inventory.ready;
      await eventually(() => inventory.instances().length === 2, 'two inventory instances');
      expect(inventory.instances().map((i) => i.weight)).toEqual([2, 2]);

      // A weight change goes through the instance into etcd.
      const [first] = instances.filter((i) => i.role === 'inventory');
      expect(await cluster.control.setWeight(first!.id, 3)).toBe(3);
      const changed = inventory.instances.bind(inventory);
      await eventually(
        () => changed().some((i) => i.address === first!.facts.address && i.weight === 3),
        'the new weight in etcd',
      );

      // A killed instance is reported; the banner shows it.
      expect(await cluster.control.kill('orders#2', 'SIGKILL')).toMatchObject({
        state: 'exited',
        signal: 'SIGKILL',
      });
      const banner = cluster.describe().join('\n');
      expect(banner).toMatch(/orders#2 .*\(exited\)/);
      expect(banner).toMatch(/inventory#1 +127\.0\.0\.1:\d+ +weight 3/);
      expect(banner).toMatch(/etcd +http:\/\/127\.0\.0\.1:\d+ +\(started here, pid \d+\)/);
      await inventory.close();
    } finally {
      await registry.close();
      etcd.close();
      await cluster.close();
    }
    for (const info of instances) expect(isAlive(info.pid!)).toBe(false);
    for (const server of servers) {
      if (server.origin.kind !== 'started') continue;
      expect(isAlive(server.origin.pid!)).toBe(false);
      expect(existsSync(server.origin.dataDir)).toBe(false);
    }
    expect(lines.some((line) => line.startsWith('[postgres#1] '))).toBe(true);
  }, 180_000);
});
