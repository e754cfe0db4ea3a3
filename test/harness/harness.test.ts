import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Etcd3 } from 'etcd3';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ensureBinary,
  MissingBinaryError,
  type ServiceHandle,
  ServiceStartError,
  sharedEtcdEndpoints,
  sharedRedisUrl,
  startEtcd,
  startPostgres,
  startRedis,
  uniquePrefix,
} from './index.js';
import { answersPing } from './redis.js';
import { startService } from './service.js';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CHILD_SCRIPT = fileURLToPath(new URL('./fixtures/redis-child.ts', import.meta.url));

// Everything a test starts is stopped after it, even when an assertion failed.
const started: ServiceHandle[] = [];
const clients: Array<{ disconnect(): void } | { close(): void }> = [];
afterEach(async () => {
  for (const client of clients.splice(0)) {
    if ('disconnect' in client) client.disconnect();
    else client.close();
  }
  await Promise.all(started.splice(0).map((service) => service.stop()));
});

function track<T extends ServiceHandle>(service: T): T {
  started.push(service);
  return service;
}

function redisClient(url: string): Redis {
  const client = new Redis(url); // default retry strategy: reconnects after an outage
  client.on('error', () => {}); // connection errors during outages are expected here
  clients.push(client);
  return client;
}

function etcdClient(endpoints: string[]): Etcd3 {
  const client = new Etcd3({ hosts: endpoints });
  clients.push(client);
  return client;
}

function isGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

async function waitFor(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('shared servers from global setup', () => {
  it('stores and reads data in the shared redis', async () => {
    const client = redisClient(sharedRedisUrl());
    const key = `${uniquePrefix('shared redis')}greeting`;
    await client.set(key, 'hello', 'EX', 60);
    expect(await client.get(key)).toBe('hello');
  });

  it('stores and reads data in the shared etcd', async () => {
    const client = etcdClient(sharedEtcdEndpoints());
    const key = `${uniquePrefix('shared etcd', '/')}greeting`;
    await client.put(key).value('hello');
    expect(await client.get(key).string()).toBe('hello');
    await client.delete().key(key);
  });
});

describe('uniquePrefix', () => {
  it('gives every call a distinct prefix that keeps the test name readable', () => {
    const first = uniquePrefix('Rate limit: burst!');
    const second = uniquePrefix('Rate limit: burst!');
    expect(first).not.toBe(second);
    expect(first).toMatch(/^test:rate-limit-burst:[a-z0-9]+-\d+:$/);
    expect(uniquePrefix('lease', '/')).toMatch(/^test\/lease\/[a-z0-9]+-\d+\/$/);
  });
});

describe('startRedis', () => {
  it('runs a server on a loopback port with a data dir, and stop() removes both', async () => {
    const redis = await startRedis();
    expect(redis.url).toBe(`redis://127.0.0.1:${redis.port}`);
    expect(redis.isRunning).toBe(true);
    expect(existsSync(redis.dataDir)).toBe(true);
    const pid = redis.pid!;

    await redis.stop();
    expect(redis.isRunning).toBe(false);
    expect(isGone(pid)).toBe(true);
    expect(existsSync(redis.dataDir)).toBe(false);
    expect(await answersPing(redis.port)).toBe(false);
    await redis.stop(); // idempotent
  });

  it('restart() keeps the port and a connected client recovers', async () => {
    const redis = track(await startRedis());
    const { url, port } = redis;
    const client = redisClient(url);
    await client.set('before', '1');
    const oldPid = redis.pid!;

    await redis.restart();
    expect(redis.isRunning).toBe(true);
    expect(redis.pid).not.toBe(oldPid);
    expect(isGone(oldPid)).toBe(true);
    expect(redis.port).toBe(port);
    expect(await answersPing(port)).toBe(true);
    // No persistence: the restarted server is empty, and the same client works again.
    await client.set('after', '2');
    expect(await client.get('after')).toBe('2');
    expect(await client.get('before')).toBeNull();
  });

  it('kill() crashes the server and restart() brings it back on the same port', async () => {
    const redis = track(await startRedis());
    const { port, dataDir } = redis;
    const pid = redis.pid!;

    await redis.kill();
    expect(redis.isRunning).toBe(false);
    expect(isGone(pid)).toBe(true);
    expect(await answersPing(port)).toBe(false);
    expect(existsSync(dataDir)).toBe(true); // kept for restart

    await redis.restart();
    expect(redis.port).toBe(port);
    expect(redis.dataDir).toBe(dataDir);
    expect(await answersPing(port)).toBe(true);
  });
});

describe('startEtcd', () => {
  it('runs a member, keeps its data across restart() and a client recovers', async () => {
    const etcd = track(await startEtcd());
    expect(etcd.endpoints).toEqual([`http://127.0.0.1:${etcd.port}`]);
    expect(etcd.peerPort).not.toBe(etcd.port);
    const client = etcdClient(etcd.endpoints);
    await client.put('k').value('v1');

    const { endpoints, dataDir } = etcd;

    await etcd.restart();
    expect(etcd.endpoints).toEqual(endpoints);
    expect(etcd.dataDir).toBe(dataDir);
    expect(await client.get('k').string()).toBe('v1');
    await client.put('k').value('v2');
    expect(await client.get('k').string()).toBe('v2');
  });

  it('stop() ends the member and removes its data dir', async () => {
    const etcd = await startEtcd();
    const pid = etcd.pid!;
    await etcd.stop();
    expect(isGone(pid)).toBe(true);
    expect(existsSync(etcd.dataDir)).toBe(false);
  });
});

describe('startPostgres', () => {
  const query = async (url: string, sql: string) => {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      return (await client.query(sql)).rows;
    } finally {
      await client.end();
    }
  };

  it('runs a cluster that keeps its data across restart(), even with a client connected', async () => {
    const postgres = track(await startPostgres());
    expect(postgres.url).toBe(`postgres://postgres@127.0.0.1:${postgres.port}/postgres`);
    await query(postgres.url, 'CREATE TABLE t (v int); INSERT INTO t VALUES (7)');
    // A connected client must not hold up the graceful stop (fast, not smart, shutdown).
    const idle = new pg.Client({ connectionString: postgres.url });
    idle.on('error', () => {});
    await idle.connect();
    const oldPid = postgres.pid!;

    const started = Date.now();
    await postgres.restart();
    expect(Date.now() - started).toBeLessThan(4_000);
    expect(isGone(oldPid)).toBe(true);
    expect(await query(postgres.url, 'SELECT v FROM t')).toEqual([{ v: 7 }]);
    await idle.end().catch(() => {});
  });

  it('stop() ends the server and removes its data dir', async () => {
    const postgres = await startPostgres();
    const pid = postgres.pid!;
    await postgres.stop();
    expect(isGone(pid)).toBe(true);
    expect(existsSync(postgres.dataDir)).toBe(false);
  });
});

describe('no orphaned servers', () => {
  interface ChildReport {
    port: number;
    pid: number;
    dataDir: string;
  }

  function startChild(mode: 'wait' | 'crash' | 'killed'): {
    child: ChildProcess;
    report: Promise<ChildReport>;
  } {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD_SCRIPT, mode], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const report = new Promise<ChildReport>((resolve, reject) => {
      child.stdout?.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        const line = stdout.split('\n')[0];
        if (stdout.includes('\n') && line) resolve(JSON.parse(line) as ChildReport);
      });
      child.once('exit', (code) => reject(new Error(`child exited with ${code}: ${stderr}`)));
    });
    return { child, report };
  }

  async function expectServerGone({ pid, port, dataDir }: ChildReport): Promise<void> {
    await waitFor(() => isGone(pid), `redis-server ${pid} to die`);
    await waitFor(() => !existsSync(dataDir), `${dataDir} to be removed`);
    expect(await answersPing(port)).toBe(false);
  }

  it.each(['SIGKILL', 'SIGTERM', 'SIGINT'] as const)(
    'kills the server when the test process gets %s',
    async (signal) => {
      const { child, report } = startChild('wait');
      const server = await report;
      expect(await answersPing(server.port)).toBe(true);
      child.kill(signal);
      await expectServerGone(server);
    },
  );

  it('kills the server when the test process crashes', async () => {
    const { report } = startChild('crash');
    await expectServerGone(await report);
  });

  it('removes the data dir kept for restart() when the test process dies after kill()', async () => {
    const { child, report } = startChild('killed');
    const server = await report;
    expect(isGone(server.pid)).toBe(true);
    expect(existsSync(server.dataDir)).toBe(true);
    child.kill('SIGKILL');
    await waitFor(() => !existsSync(server.dataDir), `${server.dataDir} to be removed`);
  });
});

describe('start failures', () => {
  it('names the service and shows its last output when it exits early', async () => {
    const failure = startRedis({ extraArgs: ['--no-such-directive', 'x'] });
    await expect(failure).rejects.toBeInstanceOf(ServiceStartError);
    await expect(failure).rejects.toThrow(/^redis-server exited with code 1 before it was ready/);
    await expect(failure).rejects.toThrow(/Bad directive or wrong number of arguments/);
  });

  it('gives up after the readiness timeout, kills the process and shows its output', async () => {
    const failure = startService(
      {
        name: 'never-ready',
        command: 'sh',
        portCount: 1,
        args: () => ['-c', 'echo "starting as pid $$"; exec sleep 30'],
        isReady: async () => false,
      },
      { readyTimeoutMs: 300 },
    );
    const error = await failure.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServiceStartError);
    const { message, logs } = error as ServiceStartError;
    expect(message).toMatch(/^never-ready did not become ready within 300 ms/);
    expect(message).toContain('starting as pid');
    const pid = Number(/pid (\d+)/.exec(logs.join('\n'))?.[1]);
    expect(isGone(pid)).toBe(true);
  });

  it('reports a missing executable', async () => {
    const failure = startRedis({ command: 'girder-no-such-redis-server' });
    await expect(failure).rejects.toThrow(/^redis-server could not be started: .*ENOENT/);
  });
});

describe('ensureBinary', () => {
  it('returns the path of a command on PATH', async () => {
    expect(await ensureBinary({ command: 'sh', debianPackage: 'dash' })).toMatch(/\/sh$/);
  });

  it('throws one line saying what to install when it may not install', async () => {
    const failure = ensureBinary({
      command: 'girder-made-up-server',
      debianPackage: 'girder-made-up',
      alternativeEnv: 'GIRDER_MADE_UP_URL',
      canInstall: false,
    });
    const error = await failure.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MissingBinaryError);
    expect((error as Error).message).toBe(
      'girder tests need girder-made-up-server: install it with "sudo apt-get install girder-made-up" (Debian/Ubuntu) or set GIRDER_MADE_UP_URL to an existing server',
    );
  });
});
