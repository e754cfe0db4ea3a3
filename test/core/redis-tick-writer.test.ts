// The runner's way of sending on an ioredis `Redis`: ioredis' own Command through
// sendCommand, with one socket write per tick. Real redis-server; the write count is
// read on the client's socket.
import { Redis, type RedisOptions } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { redisKey, redisRunner, redisScript } from '../../src/core/index.js';
import { tickWriter } from '../../src/core/redis/tick-writer.js';
import { sharedRedisUrl, uniquePrefix } from '../harness/index.js';

const clients: Redis[] = [];
afterAll(() => {
  for (const client of clients) client.disconnect();
});
async function connected(options: RedisOptions = {}): Promise<Redis> {
  const client = new Redis(sharedRedisUrl(), options);
  clients.push(client);
  await client.ping();
  return client;
}

/** Counts the socket's writes to the kernel: `_write` for one chunk, `_writev` for several. */
function countWrites(client: Redis): () => number {
  type Write = (...args: unknown[]) => unknown;
  const socket = client.stream as unknown as { _write: Write; _writev: Write };
  let writes = 0;
  for (const name of ['_write', '_writev'] as const) {
    const original = socket[name].bind(socket);
    socket[name] = (...args) => {
      writes++;
      return original(...args);
    };
  }
  return () => writes;
}

const ECHO = redisScript('return ARGV[1]', { deadline: false });
const key = (name: string) => redisKey(uniquePrefix(name).slice(0, -1), 'k');

describe('tick writer', () => {
  it('sends the commands of one tick in one socket write, with or without auto-pipelining', async () => {
    for (const enableAutoPipelining of [false, true]) {
      const client = await connected({ enableAutoPipelining });
      const runner = redisRunner(client);
      await runner.eval(ECHO, [key('w')], ['warm']); // after the runner's clock probe
      const writes = countWrites(client);
      const replies = await Promise.all(
        Array.from({ length: 50 }, (_, i) => runner.eval(ECHO, [key('w')], [`v${i}`])),
      );
      expect(replies).toEqual(Array.from({ length: 50 }, (_, i) => `v${i}`));
      expect(writes()).toBe(1);
      runner.close();
    }
  });

  it('batchWrites: false leaves writing to the client (one write per command without auto-pipelining)', async () => {
    const client = await connected();
    const runner = redisRunner(client, { batchWrites: false });
    await runner.eval(ECHO, [key('f')], ['warm']);
    const writes = countWrites(client);
    await Promise.all(Array.from({ length: 5 }, (_, i) => runner.eval(ECHO, [key('f')], [i])));
    expect(writes()).toBe(5);
    runner.close();
  });

  it('refuses a batchWrites that is not a boolean', async () => {
    const client = await connected();
    expect(() => redisRunner(client, { batchWrites: 'yes' } as never)).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS' }),
    );
  });

  it("never overtakes the client's own auto-pipelined commands of the same tick", async () => {
    const client = await connected({ enableAutoPipelining: true });
    const runner = redisRunner(client);
    const k = key('order');
    for (let i = 0; i < 20; i++) {
      const set = client.set(k, `v${i}`); // waits in the auto-pipeline until setImmediate
      expect(await runner.command('GET', k)).toBe(`v${i}`);
      await set;
    }
    runner.close();
  });

  it("applies the client's keyPrefix, as its own methods do", async () => {
    const prefix = uniquePrefix('kp');
    const client = await connected({ keyPrefix: prefix });
    const plain = await connected();
    const runner = redisRunner(client);
    await runner.eval(redisScript("return redis.call('SET', KEYS[1], ARGV[1])"), ['{k}'], ['x']);
    await runner.command('SET', '{j}', 'y');
    expect(await plain.get(`${prefix}{k}`)).toBe('x');
    expect(await plain.get(`${prefix}{j}`)).toBe('y');
    runner.close();
  });

  it('falls back to EVAL after SCRIPT FLUSH, and replies come as strings, not Buffers', async () => {
    const client = await connected();
    const runner = redisRunner(client);
    const script = redisScript(`return {ARGV[1], tonumber(ARGV[2])}`);
    expect(await runner.eval(script, [key('n')], ['text', 7])).toEqual(['text', 7]);
    await client.script('FLUSH');
    expect(await runner.eval(script, [key('n')], ['again', 8])).toEqual(['again', 8]);
    runner.close();
  });

  it('is not used for a stand-in, a Cluster, or a client of another ioredis copy', () => {
    const standIn = { status: 'ready', call: async () => 'OK', sendCommand() {} };
    expect(tickWriter(standIn)).toBeUndefined();
    // An object that merely claims Redis' shape is not an instance of girder's ioredis.
    const lookalike = Object.assign(Object.create(null), standIn, { options: {} });
    expect(tickWriter(lookalike)).toBeUndefined();
    const client = new Redis(sharedRedisUrl(), { lazyConnect: true });
    expect(tickWriter(client)).toBeDefined();
    client.disconnect();
  });
});
