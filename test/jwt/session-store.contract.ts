import { afterAll, describe, expect, it } from 'vitest';
import { memorySessionStore, redisSessionStore, type SessionStore } from '../../src/jwt/index.js';
import { newSessionId } from '../../src/jwt/session-store.js';
import {
  type ContractBackend,
  openRedisClient,
  type RedisBackendClient,
  uniquePrefix,
} from '../harness/index.js';
import { T0 } from './fixtures.js';

const HOUR = 3_600_000;

/**
 * The behaviour every SessionStore must have. `make` returns a fresh, empty store
 * (e.g. under a unique Redis prefix).
 */
export function sessionStoreContract(name: string, make: () => SessionStore) {
  describe(`SessionStore contract: ${name}`, () => {
    const stores: SessionStore[] = [];
    const fresh = () => {
      const store = make();
      stores.push(store);
      return store;
    };
    afterAll(async () => {
      await Promise.all(stores.map((s) => s.close()));
    });

    const open = async (store: SessionStore, subject = 'u-1', refreshId = 'r1', now = T0) => {
      const sessionId = newSessionId(subject);
      expect(await store.create({ sessionId, subject, refreshId, ttlMs: HOUR, now })).toBe(true);
      return sessionId;
    };

    it('creates active sessions; unknown ones are missing', async () => {
      const store = fresh();
      const id = await open(store);
      expect(await store.check(id, T0)).toBe('active');
      expect(await store.check(newSessionId('u-1'), T0)).toBe('missing');
    });

    it('rotates with the current refresh id; an old one is reuse and revokes the session', async () => {
      const store = fresh();
      const id = await open(store);
      const rotation = { sessionId: id, subject: 'u-1', ttlMs: HOUR, now: T0 };
      expect(await store.rotate({ ...rotation, presentedId: 'r1', nextId: 'r2' })).toBe('rotated');
      expect(await store.rotate({ ...rotation, presentedId: 'r2', nextId: 'r3' })).toBe('rotated');
      expect(await store.check(id, T0)).toBe('active');
      expect(await store.rotate({ ...rotation, presentedId: 'r1', nextId: 'r9' })).toBe('reused');
      expect(await store.check(id, T0)).toBe('revoked');
      expect(await store.rotate({ ...rotation, presentedId: 'r3', nextId: 'r4' })).toBe('revoked');
      expect(
        await store.rotate({
          ...rotation,
          sessionId: newSessionId('u-1'),
          presentedId: 'r1',
          nextId: 'x',
        }),
      ).toBe('missing');
    });

    it('within graceMs, the id just replaced replays the kept successor; after it, or two back, it is reuse', async () => {
      const store = fresh();
      const id = await open(store);
      const rotation = { sessionId: id, subject: 'u-1', ttlMs: HOUR, graceMs: 1_000 };
      expect(
        await store.rotate({
          ...rotation,
          now: T0,
          presentedId: 'r1',
          nextId: 'r2',
          successor: 'S2',
        }),
      ).toBe('rotated');
      const replay = { ...rotation, presentedId: 'r1', nextId: 'rx', successor: 'SX' };
      expect(await store.rotate({ ...replay, now: T0 + 999 })).toEqual({
        result: 'replayed',
        successor: 'S2',
      });
      expect(await store.check(id, T0 + 999)).toBe('active');
      // The replay changed nothing: r2 is still current.
      expect(
        await store.rotate({
          ...rotation,
          now: T0 + 999,
          presentedId: 'r2',
          nextId: 'r3',
          successor: 'S3',
        }),
      ).toBe('rotated');
      // r1 is now two rotations back: reuse.
      expect(await store.rotate({ ...replay, now: T0 + 999 })).toBe('reused');
      expect(await store.check(id, T0 + 999)).toBe('revoked');

      const other = await open(store);
      const second = { ...rotation, sessionId: other };
      await store.rotate({ ...second, now: T0, presentedId: 'r1', nextId: 'r2', successor: 'S2' });
      expect(
        await store.rotate({ ...second, now: T0 + 1_000, presentedId: 'r1', nextId: 'r9' }),
      ).toBe('reused');
    });

    it('without graceMs, a replay of the id just replaced is reuse', async () => {
      const store = fresh();
      const id = await open(store);
      const rotation = { sessionId: id, subject: 'u-1', ttlMs: HOUR, now: T0 };
      await store.rotate({ ...rotation, presentedId: 'r1', nextId: 'r2', successor: 'S2' });
      expect(await store.rotate({ ...rotation, presentedId: 'r1', nextId: 'r3' })).toBe('reused');
    });

    it('only one of two concurrent rotations with the same id wins', async () => {
      const store = fresh();
      const id = await open(store);
      const rotation = { sessionId: id, subject: 'u-1', ttlMs: HOUR, now: T0, presentedId: 'r1' };
      const results = await Promise.all([
        store.rotate({ ...rotation, nextId: 'a' }),
        store.rotate({ ...rotation, nextId: 'b' }),
      ]);
      expect(results.sort()).toEqual(['reused', 'rotated']);
      expect(await store.check(id, T0)).toBe('revoked');
    });

    it('revokes one session, once', async () => {
      const store = fresh();
      const id = await open(store);
      const other = await open(store);
      expect(await store.revoke(id, T0)).toBe(true);
      expect(await store.revoke(id, T0)).toBe(false);
      expect(await store.revoke(newSessionId('u-1'), T0)).toBe(false);
      expect(await store.check(id, T0)).toBe('revoked');
      expect(await store.check(other, T0)).toBe('active');
    });

    it('revokes every session of a subject and none of another', async () => {
      const store = fresh();
      const a = await open(store, 'u-1');
      const b = await open(store, 'u-1');
      const c = await open(store, 'u-2');
      await store.revoke(a, T0);
      expect(await store.revokeAll('u-1', T0)).toBe(1);
      expect(await store.check(b, T0)).toBe('revoked');
      expect(await store.check(c, T0)).toBe('active');
      expect(await store.revokeAll('u-1', T0)).toBe(0);
      expect(await store.revokeAll('nobody', T0)).toBe(0);
      const d = await open(store, 'u-1');
      expect(await store.check(d, T0)).toBe('active');
    });

    it('bans: sessions become banned, creation and rotation are refused, unban lifts it', async () => {
      const store = fresh();
      const a = await open(store, 'u-1');
      const b = await open(store, 'u-1');
      await store.revoke(b, T0);
      expect(await store.isBanned('u-1', T0)).toBe(false);
      expect(await store.ban('u-1', undefined, T0)).toBe(1);
      expect(await store.isBanned('u-1', T0)).toBe(true);
      expect(await store.check(a, T0)).toBe('banned');
      expect(await store.check(b, T0)).toBe('revoked');
      const refused = newSessionId('u-1');
      expect(
        await store.create({
          sessionId: refused,
          subject: 'u-1',
          refreshId: 'r',
          ttlMs: HOUR,
          now: T0,
        }),
      ).toBe(false);
      expect(await store.check(refused, T0)).toBe('missing');
      expect(await store.unban('u-1')).toBe(true);
      expect(await store.unban('u-1')).toBe(false);
      expect(await store.check(a, T0)).toBe('banned');
      await open(store, 'u-1');
    });

    it('a ban racing a session that is being created never leaves an active session behind', async () => {
      const store = fresh();
      const ids = Array.from({ length: 20 }, () => newSessionId('u-race'));
      const creations = ids.map((sessionId) =>
        store.create({ sessionId, subject: 'u-race', refreshId: 'r', ttlMs: HOUR, now: T0 }),
      );
      const ban = store.ban('u-race', undefined, T0);
      await Promise.all([...creations, ban]);
      for (const id of ids) expect(await store.check(id, T0)).not.toBe('active');
    });

    it('a rotation of a banned subject marks the session banned', async () => {
      const store = fresh();
      const id = await open(store, 'u-1');
      await store.ban('u-1', undefined, T0);
      const rotation = {
        sessionId: id,
        subject: 'u-1',
        ttlMs: HOUR,
        now: T0,
        presentedId: 'r1',
        nextId: 'r2',
      };
      expect(await store.rotate(rotation)).toBe('banned');
    });

    it('handles subjects with any characters', async () => {
      const store = fresh();
      for (const subject of ['{tag}', 'a:b:c', 'ユーザー', 'with space', 'x'.repeat(512)]) {
        const id = await open(store, subject);
        expect(await store.check(id, T0)).toBe('active');
        expect(await store.revokeAll(subject, T0)).toBe(1);
        expect(await store.check(id, T0)).toBe('revoked');
      }
    });
  });
}

/** What a session-store backend gives the contract: fresh stores, plain or answer-cached. */
export interface SessionContractEnv {
  /** A fresh, empty store; `cached` turns on the Redis store's answer cache. */
  make(cached: boolean): SessionStore;
}

/** The in-process store. */
export function memorySessionBackend(): ContractBackend<SessionContractEnv> {
  return { name: 'memory', open: () => ({ make: () => memorySessionStore() }) };
}

/** The Redis store on the shared single server or the shared 3-master cluster. */
export function redisSessionBackend(
  name: 'redis' | 'redis-cluster',
): ContractBackend<SessionContractEnv & { client: RedisBackendClient }> {
  return {
    name,
    open: async () => {
      const client = await openRedisClient(name);
      return {
        client,
        make: (cached) =>
          redisSessionStore(client, {
            prefix: uniquePrefix(`jwt ${name}${cached ? ' cached' : ''}`),
            ...(cached && { cache: { validMs: 0 } }),
          }),
      };
    },
    close: (env) => {
      env.client.disconnect();
    },
  };
}

/** The contract for one backend, with and without the answer cache where it has one. */
export function describeSessionContract(backend: string, env: () => SessionContractEnv): void {
  sessionStoreContract(backend, () => env().make(false));
  if (backend !== 'memory') sessionStoreContract(`${backend} with cache`, () => env().make(true));
}
