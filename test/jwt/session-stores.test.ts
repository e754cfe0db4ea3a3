import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { InvalidOptionsError } from '../../src/core/index.js';
import {
  memorySessionStore,
  type RedisCommandClient,
  redisSessionStore,
} from '../../src/jwt/index.js';
import { newSessionId } from '../../src/jwt/session-store.js';
import { describeBackends, sharedRedisUrl, uniquePrefix } from '../harness/index.js';
import { T0 } from './fixtures.js';
import {
  describeSessionContract,
  memorySessionBackend,
  redisSessionBackend,
} from './session-store.contract.js';

const HOUR = 3_600_000;
const redis = new Redis(sharedRedisUrl());
afterAll(() => redis.quit());

describeBackends([memorySessionBackend(), redisSessionBackend('redis')], describeSessionContract);

/** A client that counts the commands it sends. */
function counting(client: RedisCommandClient) {
  const commands: string[] = [];
  return {
    commands,
    client: {
      call: (command: string, ...args: (string | number)[]) => {
        commands.push(command);
        return client.call(command, ...args);
      },
    } satisfies RedisCommandClient,
  };
}

describe('memorySessionStore', () => {
  it('sessions expire with their ttl, bans too', async () => {
    const store = memorySessionStore();
    const id = newSessionId('u-1');
    await store.create({ sessionId: id, subject: 'u-1', refreshId: 'r', ttlMs: HOUR, now: T0 });
    expect(await store.check(id, T0 + HOUR - 1)).toBe('active');
    expect(await store.check(id, T0 + HOUR)).toBe('missing');
    await store.ban('u-2', 1000, T0);
    expect(await store.isBanned('u-2', T0 + 999)).toBe(true);
    expect(await store.isBanned('u-2', T0 + 1000)).toBe(false);
  });
});

describe('redisSessionStore', () => {
  it('checks a session in one command (HGET, no script)', async () => {
    const { client, commands } = counting(redis);
    const store = redisSessionStore(client, { prefix: uniquePrefix('jwt-one-trip') });
    const id = newSessionId('u-1');
    await store.create({ sessionId: id, subject: 'u-1', refreshId: 'r', ttlMs: HOUR, now: T0 });
    commands.length = 0;
    expect(await store.check(id, T0)).toBe('active');
    expect(commands).toEqual(['HGET']);
  });

  it('create and rotate are one script each; every key has a TTL', async () => {
    const prefix = uniquePrefix('jwt-ttl');
    const { client, commands } = counting(redis);
    const store = redisSessionStore(client, { prefix });
    const id = newSessionId('u-1');
    await store.create({ sessionId: id, subject: 'u-1', refreshId: 'r', ttlMs: HOUR, now: T0 });
    await store.rotate({
      sessionId: id,
      subject: 'u-1',
      presentedId: 'r',
      nextId: 's',
      ttlMs: 2 * HOUR,
      now: T0,
    });
    expect(commands.filter((c) => c !== 'EVAL' && c !== 'TIME')).toEqual(['EVALSHA', 'EVALSHA']);
    const expectTtls = async (keys: string[]) => {
      for (const key of keys) {
        const ttl = await redis.pttl(key);
        expect(ttl, key).toBeGreaterThan(HOUR); // extended by the rotation...
        expect(ttl, key).toBeLessThanOrEqual(2 * HOUR); // ...to the new refresh lifetime
      }
    };
    const sessionKeys = await redis.keys(`${prefix}*`);
    expect(sessionKeys).toHaveLength(2); // session, subject index
    await expectTtls(sessionKeys);
    await store.ban('u-1', 5000, T0); // adds the ban; ends the session, emptying the index
    const keys = [...new Set([...sessionKeys, ...(await redis.keys(`${prefix}*`))])];
    expect(keys).toHaveLength(3);
    const banKey = keys.find((k) => !sessionKeys.includes(k))!;
    expect(await redis.pttl(banKey)).toBeGreaterThan(0);
    expect(await redis.pttl(banKey)).toBeLessThanOrEqual(5000);
    // A subject's keys share one hash tag (one cluster slot).
    const tags = new Set(keys.map((k) => /\{([^}]+)\}/.exec(k)![1]));
    expect(tags.size).toBe(1);
  });

  it('a permanent ban has no TTL until unbanned', async () => {
    const prefix = uniquePrefix('jwt-ban');
    const store = redisSessionStore(redis, { prefix });
    await store.ban('u-1', undefined, T0);
    const [key] = await redis.keys(`${prefix}*`);
    expect(await redis.pttl(key!)).toBe(-1);
    await store.unban('u-1');
    expect(await redis.exists(key!)).toBe(0);
  });

  it('the cache answers "active" for validMs without a round trip; local revokes evict', async () => {
    const { client, commands } = counting(redis);
    const prefix = uniquePrefix('jwt-cache');
    const cached = redisSessionStore(client, { prefix, cache: { validMs: 1000 } });
    const other = redisSessionStore(redis, { prefix });
    const id = newSessionId('u-1');
    await cached.create({ sessionId: id, subject: 'u-1', refreshId: 'r', ttlMs: HOUR, now: T0 });
    commands.length = 0;
    expect(await cached.check(id, T0)).toBe('active');
    expect(await cached.check(id, T0 + 500)).toBe('active');
    expect(commands).toEqual(['HGET']);
    // Revoked on another instance: this one answers from cache until validMs passes.
    await other.revoke(id, T0);
    expect(await cached.check(id, T0 + 999)).toBe('active');
    expect(await cached.check(id, T0 + 1000)).toBe('revoked');
    // Revoked answers are cached too (invalidMs), and this instance's own revoke evicts.
    const id2 = newSessionId('u-1');
    await cached.create({ sessionId: id2, subject: 'u-1', refreshId: 'r', ttlMs: HOUR, now: T0 });
    expect(await cached.check(id2, T0)).toBe('active');
    await cached.revoke(id2, T0);
    expect(await cached.check(id2, T0 + 1)).toBe('revoked');
    commands.length = 0;
    expect(await cached.check(id2, T0 + 2)).toBe('revoked');
    expect(commands).toEqual([]);
  });

  it('the cache holds at most maxEntries answers', async () => {
    const { client, commands } = counting(redis);
    const store = redisSessionStore(client, {
      prefix: uniquePrefix('jwt-cache-bound'),
      cache: { maxEntries: 2, invalidMs: 60_000 },
    });
    const ids = [newSessionId('a'), newSessionId('b'), newSessionId('c')];
    for (const id of ids) await store.check(id, T0);
    commands.length = 0;
    await store.check(ids[2]!, T0);
    await store.check(ids[1]!, T0);
    expect(commands).toEqual([]);
    await store.check(ids[0]!, T0); // evicted first
    expect(commands).toEqual(['HGET']);
  });

  it('revokeAll works through many sessions in batches', async () => {
    const store = redisSessionStore(redis, { prefix: uniquePrefix('jwt-batches'), batchSize: 7 });
    const ids = [];
    for (let i = 0; i < 30; i++) {
      const id = newSessionId('u-many');
      ids.push(id);
      await store.create({
        sessionId: id,
        subject: 'u-many',
        refreshId: 'r',
        ttlMs: HOUR,
        now: T0,
      });
    }
    expect(await store.revokeAll('u-many', T0)).toBe(30);
    for (const id of ids) expect(await store.check(id, T0)).toBe('revoked');
  });

  it('refuses bad options', () => {
    for (const [client, options, path] of [
      [{}, {}, 'client'],
      [redis, { prefix: 'a{b}' }, 'prefix'],
      [redis, { timeoutMs: 0 }, 'timeoutMs'],
      [redis, { cache: { validMs: -1 } }, 'cache.validMs'],
      [redis, { cache: { maxEntries: 0 } }, 'cache.maxEntries'],
    ] as const) {
      try {
        redisSessionStore(client as never, options as never);
        expect.unreachable();
      } catch (err) {
        expect(err).toBeInstanceOf(InvalidOptionsError);
        expect((err as InvalidOptionsError).issues.map((i) => i.path)).toContain(path);
      }
    }
  });
});
