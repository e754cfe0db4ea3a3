// core's Redis layer against a real redis-server: script registry, NOSCRIPT fallback,
// deadlines, fast failure and error classification.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  InvalidOptionsError,
  isRedisPrefix,
  RedisCommandError,
  RedisUnavailableError,
  redisKey,
  redisRunner,
  redisScript,
  registeredRedisScripts,
} from '../../src/core/index.js';
import '../../src/jwt/index.js'; // registers the jwt scripts at import
import { redisStore } from '../../src/ratelimit/index.js';
import { type RedisServer, sharedRedisUrl, startRedis, uniquePrefix } from '../harness/index.js';
import { specs } from '../ratelimit/contract.js';

const client = new Redis(sharedRedisUrl(), { enableAutoPipelining: true });
afterAll(() => client.disconnect());

const SET_IF = redisScript(`redis.call('SET', KEYS[1], ARGV[1], 'PX', 60000)
return ARGV[1]`);
const key = (name: string) => redisKey(uniquePrefix(name).slice(0, -1), 'k');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('script registry', () => {
  it("every registered script's SHA equals SCRIPT LOAD's answer (ratelimit, jwt, core)", async () => {
    // Register every ratelimit algorithm's script by deciding once through a Redis store.
    const store = redisStore(client, { prefix: uniquePrefix('sha').slice(0, -1) });
    for (const spec of specs) {
      const d = await spec.make({ store }).limit('k');
      await (d as { release?: () => Promise<void> }).release?.();
    }
    const scripts = registeredRedisScripts();
    expect(scripts.length).toBeGreaterThanOrEqual(specs.length + 4);
    for (const script of scripts) {
      expect(await client.call('SCRIPT', 'LOAD', script.source)).toBe(script.sha);
      expect(script.source.endsWith(script.body)).toBe(true);
    }
  });

  it('the same body is one script object', () => {
    expect(redisScript('return 1')).toBe(redisScript('return 1'));
  });

  it('the body sees exactly the arguments its caller passed (the deadline is removed)', async () => {
    const echo = redisScript('return {#KEYS, #ARGV, ARGV[1], ARGV[2]}');
    const runner = redisRunner(client);
    expect(await runner.eval(echo, ['{a}'], ['x', 'y'])).toEqual([1, 2, 'x', 'y']);
    expect(await runner.eval(echo, [], [])).toEqual([0, 0]);
  });
});

describe('scripts without the deadline prologue ({ deadline: false })', () => {
  const ECHO = 'return {#KEYS, #ARGV, ARGV[1], ARGV[2]}';

  it('are separate objects whose source is the bare body, and their SHA matches SCRIPT LOAD', async () => {
    const bare = redisScript(ECHO, { deadline: false });
    expect(bare).toBe(redisScript(ECHO, { deadline: false }));
    expect(bare).not.toBe(redisScript(ECHO));
    expect(bare).toMatchObject({ body: ECHO, source: ECHO, deadline: false });
    expect(redisScript(ECHO).deadline).toBe(true);
    expect(await client.call('SCRIPT', 'LOAD', bare.source)).toBe(bare.sha);
  });

  it('receive exactly their arguments and run even when a deadline would have refused them', async () => {
    // The skew allowance puts any deadline in the past: a prologue script would expire.
    const runner = redisRunner(client, { commandTimeoutMs: 1_000, clockSkewMs: 5_000 });
    const bare = redisScript(ECHO, { deadline: false });
    expect(await runner.eval(bare, ['{a}'], ['x', 'y'])).toEqual([1, 2, 'x', 'y']);
    const viaKey = (arg2: string | undefined) =>
      runner.evalKey<unknown>(
        bare,
        '{a}',
        'x',
        arg2,
        (r) => r,
        (e) => e,
      );
    expect(await viaKey('y')).toEqual([1, 2, 'x', 'y']);
    expect(await viaKey(undefined)).toEqual([1, 1, 'x']);
    // NOSCRIPT fallback sends the same arguments.
    await client.call('SCRIPT', 'FLUSH');
    expect(await runner.eval(bare, ['{a}'], ['x'])).toEqual([1, 1, 'x']);
    await client.call('SCRIPT', 'FLUSH');
    expect(await viaKey('y')).toEqual([1, 2, 'x', 'y']);
  });

  it('bad options are an INVALID_ARGUMENT', () => {
    for (const bad of [{ deadline: 'no' }, { deadlin: false }, null, 'x']) {
      expect(() => redisScript(ECHO, bad as never)).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
      );
    }
  });
});

describe('redisRunner', () => {
  it('falls back to EVAL after SCRIPT FLUSH (NOSCRIPT), in both call forms', async () => {
    const runner = redisRunner(client);
    const k = key('noscript');
    expect(await runner.eval(SET_IF, [k], ['1'])).toBe('1');
    await client.call('SCRIPT', 'FLUSH');
    expect(await runner.eval(SET_IF, [k], ['2'])).toBe('2');
    await client.call('SCRIPT', 'FLUSH');
    const reply = await runner.evalKey(
      SET_IF,
      k,
      '3',
      undefined,
      (r) => r,
      (e) => e,
    );
    expect(reply).toBe('3');
  });

  it('a script reaching Redis after its deadline changes nothing and rejects as expired', async () => {
    // A skew allowance beyond the timeout puts the server deadline in the past.
    const runner = redisRunner(client, { commandTimeoutMs: 1_000, clockSkewMs: 5_000 });
    const k = key('expired');
    const error = await runner.eval(SET_IF, [k], ['1']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RedisUnavailableError);
    expect(error).toMatchObject({ code: 'REDIS_UNAVAILABLE', reason: 'expired' });
    expect(await client.exists(k)).toBe(0);
    const viaKey = await runner.evalKey<unknown>(
      SET_IF,
      k,
      '1',
      undefined,
      () => 'ran',
      (e) => e,
    );
    expect(viaKey).toMatchObject({ reason: 'expired' });
    expect(await client.exists(k)).toBe(0);
  });

  it('commandTimeoutMs: 0 sends no deadline', async () => {
    const runner = redisRunner(client, { commandTimeoutMs: 0, clockSkewMs: 5_000 });
    const k = key('no deadline');
    expect(await runner.eval(SET_IF, [k], ['1'])).toBe('1');
  });

  it('classifies bad arguments and Lua errors as REDIS_COMMAND_ERROR, never as an outage', async () => {
    const runner = redisRunner(client);
    const bad = redisScript(`return redis.call('INCRBY', KEYS[1], ARGV[1])`);
    const raised = redisScript(`return redis.error_reply('ERR cost out of range')`);
    const crash = redisScript('return nil + 1');
    for (const [script, args] of [
      [bad, ['not-a-number']],
      [raised, []],
      [crash, []],
    ] as const) {
      const error = await runner.eval(script, [key('bad arg')], args).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RedisCommandError);
      expect(error).toMatchObject({ code: 'REDIS_COMMAND_ERROR' });
    }
    const plain = await runner.command('INCRBY', key('bad'), 'x').catch((e: unknown) => e);
    expect(plain).toMatchObject({ code: 'REDIS_COMMAND_ERROR' });
  });

  it('evalKeys maps the reply, and a throwing onError rejects the call instead of leaving it pending', async () => {
    const runner = redisRunner(client);
    const k = key('evalKeys');
    expect(await runner.evalKeys(SET_IF, [k], ['7'], (r) => `got ${r}`, String)).toBe('got 7');
    const bad = redisScript(`return redis.error_reply('ERR refused on purpose')`);
    const rethrow = (e: unknown): never => {
      throw e;
    };
    await expect(runner.evalKeys(bad, [k], [], String, rethrow)).rejects.toMatchObject({
      code: 'REDIS_COMMAND_ERROR',
    });
    await expect(runner.evalKey(bad, k, '1', undefined, String, rethrow)).rejects.toMatchObject({
      code: 'REDIS_COMMAND_ERROR',
    });
    // A throwing onReply is a failure handed to onError.
    const viaError = await runner.evalKey<unknown>(
      SET_IF,
      k,
      '8',
      undefined,
      () => {
        throw new Error('cannot parse');
      },
      (e) => e,
    );
    expect(viaError).toMatchObject({ code: 'REDIS_UNAVAILABLE' });
    runner.close();
    // Refused before sending (closed runner): a rejection, never a synchronous throw.
    const refused = runner.evalKey(SET_IF, k, '9', undefined, String, rethrow);
    await expect(refused).rejects.toMatchObject({ reason: 'closed' });
  });

  it('refuses a non-client and misspelt options', () => {
    expect(() => redisRunner({} as never)).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    expect(() => redisRunner(client, { comandTimeoutMs: 5 } as never)).toThrow(InvalidOptionsError);
    expect(() => redisRunner(client, { commandTimeoutMs: -1 })).toThrow(InvalidOptionsError);
  });
});

describe('redisRunner on a dedicated server', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await startRedis();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('a command not answered within commandTimeoutMs rejects with reason timeout; a stalled script never applies', async () => {
    const own = new Redis(server.url);
    own.on('error', () => {});
    const runner = redisRunner(own, { commandTimeoutMs: 150 });
    try {
      await runner.eval(SET_IF, [key('warm')], ['0']); // connected, clock offset known
      const k = key('stall');
      process.kill(server.pid!, 'SIGSTOP');
      let error: unknown;
      try {
        error = await runner.eval(SET_IF, [k], ['1']).catch((e: unknown) => e);
        await sleep(100);
      } finally {
        process.kill(server.pid!, 'SIGCONT');
      }
      expect(error).toMatchObject({ code: 'REDIS_UNAVAILABLE', reason: 'timeout' });
      // The callback forms time out the same way, through onError.
      process.kill(server.pid!, 'SIGSTOP');
      let viaKey: unknown;
      try {
        viaKey = await runner.evalKey<unknown>(
          SET_IF,
          k,
          '2',
          undefined,
          () => 'answered',
          (e) => e,
        );
      } finally {
        process.kill(server.pid!, 'SIGCONT');
      }
      expect(viaKey).toMatchObject({ code: 'REDIS_UNAVAILABLE', reason: 'timeout' });
      await own.ping();
      expect(await own.exists(k)).toBe(0);
    } finally {
      runner.close();
      own.disconnect();
    }
  });

  it('fails fast (without waiting for the deadline) while disconnected, and as closed after quit', async () => {
    const own = new Redis(server.url, { retryStrategy: () => 50 });
    own.on('error', () => {});
    const runner = redisRunner(own, { commandTimeoutMs: 60_000 });
    try {
      await runner.command('PING');
      await server.kill();
      while (own.status === 'ready') await sleep(10);
      await expect(runner.eval(SET_IF, [key('down')], ['1'])).rejects.toMatchObject({
        reason: 'disconnected',
      });
      await expect(runner.command('PING')).rejects.toMatchObject({ reason: 'disconnected' });
    } finally {
      await server.restart();
    }
    while ((own.status as string) !== 'ready') await sleep(10);
    expect(await runner.eval(SET_IF, [key('back')], ['1'])).toBe('1');
    own.disconnect();
    while (own.status !== 'end') await sleep(10);
    await expect(runner.command('PING')).rejects.toMatchObject({ reason: 'closed' });
    runner.close();
  });
});

describe('one key rule', () => {
  it('builds {prefix:tag} keys, with an optional suffix outside the tag', () => {
    expect(redisKey('girder:rl', 'api:user:1')).toBe('{girder:rl:api:user:1}');
    expect(redisKey('girder:lock', 'order:7', 'fence')).toBe('{girder:lock:order:7}:fence');
    expect(isRedisPrefix('shop:rl')).toBe(true);
    for (const bad of ['', 'a{b', 'a}b', 5]) expect(isRedisPrefix(bad)).toBe(false);
  });

  it('keys of one tag share a cluster slot', async () => {
    const slot = (k: string) => client.call('CLUSTER', 'KEYSLOT', k).catch(() => undefined);
    // CLUSTER KEYSLOT also answers on a non-cluster server.
    const a = await slot(redisKey('p', 'user:1', 'a'));
    const b = await slot(redisKey('p', 'user:1', 'b'));
    if (a !== undefined) expect(a).toBe(b);
  });
});
