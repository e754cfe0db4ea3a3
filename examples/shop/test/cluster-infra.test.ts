// The cluster launcher's infrastructure starter, on the real binaries: etcd, redis-server
// and PostgreSQL started on loopback ports and usable, stopped with their data dirs removed;
// a given server used as is; a missing one named with its package and variable.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Etcd3 } from 'etcd3';
import { Redis } from 'ioredis';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { InfraMissingError, planInfra, startInfra } from '../src/cluster/infra.js';
import { eventually, isAlive } from './processes.js';

const TSX = ['--import', 'tsx'];

describe('cluster infrastructure', () => {
  it('starts etcd, Redis and PostgreSQL, and stops them removing their data dirs', async () => {
    const lines: string[] = [];
    const env = { PATH: process.env.PATH };
    const infra = await startInfra({ env, execArgv: TSX, output: (line) => lines.push(line) });
    const started = infra.servers.map((s) => (s.origin.kind === 'started' ? s.origin : undefined));
    const pids = started.map((s) => s?.pid ?? 0);
    const dataDirs = started.map((s) => s?.dataDir ?? '');
    try {
      expect(infra.servers.map((s) => [s.name, s.origin.kind])).toEqual([
        ['etcd', 'started'],
        ['redis', 'started'],
        ['postgres', 'started'],
      ]);
      for (const pid of pids) expect(isAlive(pid)).toBe(true);
      for (const dir of dataDirs) expect(existsSync(dir)).toBe(true);

      const redis = new Redis(infra.endpoints.redisUrl);
      await redis.set('shop-infra', 'ok');
      expect(await redis.get('shop-infra')).toBe('ok');
      redis.disconnect();

      const etcd = new Etcd3({ hosts: infra.endpoints.etcdEndpoints });
      await etcd.put('shop-infra').value('ok');
      expect(await etcd.get('shop-infra').string()).toBe('ok');
      etcd.close();

      const db = new pg.Client({ connectionString: infra.endpoints.databaseUrl });
      await db.connect();
      expect((await db.query('SELECT 1 + 1 AS two')).rows).toEqual([{ two: 2 }]);
      await db.end();
    } finally {
      await infra.close();
    }
    for (const pid of pids) expect(isAlive(pid)).toBe(false);
    for (const dir of dataDirs) expect(existsSync(dir)).toBe(false);
    // Their output went through the launcher, prefixed.
    expect(lines.some((line) => line.startsWith('[etcd#1] '))).toBe(true);
  }, 120_000);

  it('uses the servers the environment gives and starts only the others', () => {
    const plan = planInfra({
      env: {
        PATH: process.env.PATH,
        REDIS_URL: 'redis://10.0.0.1:6379',
        DATABASE_URL: 'postgres://db/shop',
      },
    });
    expect(Object.keys(plan)).toEqual(['etcd']);
  });

  it('names the package to install and the variable to set for each missing server', () => {
    const missing = () => planInfra({ env: { PATH: '', REDIS_URL: 'redis://r' }, searchDirs: [] });
    expect(missing).toThrow(InfraMissingError);
    try {
      missing();
    } catch (err) {
      expect((err as InfraMissingError).missing).toEqual(['etcd', 'postgres']);
      expect((err as Error).message).toBe(
        [
          'etcd is not installed: install it (Debian/Ubuntu: sudo apt-get install etcd-server) or set ETCD_ENDPOINTS to a running server',
          'postgres is not installed: install it (Debian/Ubuntu: sudo apt-get install postgresql) or set DATABASE_URL to a running server',
        ].join('\n'),
      );
    }
  });

  it('stops a started server and removes its data dir when the launcher is SIGKILLed', async () => {
    const fixture = fileURLToPath(new URL('./cluster-fixtures/infra-parent.ts', import.meta.url));
    const parent = spawn(process.execPath, [...TSX, fixture], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      let started: { pid: number; dataDir: string } | undefined;
      for await (const line of createInterface({ input: parent.stdout! })) {
        if (line.startsWith('{')) {
          started = JSON.parse(line);
          break;
        }
      }
      expect(isAlive(started!.pid)).toBe(true);
      expect(existsSync(started!.dataDir)).toBe(true);
      parent.kill('SIGKILL');
      await eventually(() => !isAlive(started!.pid), 'redis-server has exited');
      await eventually(() => !existsSync(started!.dataDir), 'its data dir is removed');
    } finally {
      parent.kill('SIGKILL');
    }
  }, 60_000);
});
