import { z } from 'zod';
import { parseOptions, withTimeout } from '../core/index.js';
import { checkPrefix, type RedisCommandClient, RedisScript } from './redis.js';
import {
  type RotateResult,
  SESSION_TAG_LENGTH,
  type SessionState,
  type SessionStore,
  subjectTag,
} from './session-store.js';

/** Options of {@link redisSessionStore}'s in-process answer cache. */
export interface SessionCacheOptions {
  /**
   * How long an `active` answer is reused without asking Redis, ms. This is the
   * staleness you accept: a logout or ban made on *another* instance is seen here up
   * to this late (this instance's own logouts evict at once). `0` never caches
   * `active`. Default `1000`.
   */
  validMs?: number;
  /**
   * How long a `revoked` / `banned` / `missing` answer is reused, ms. These are final
   * (a revoked session never comes back), so caching them only saves round trips for
   * tokens that keep being replayed. Default `60000`.
   */
  invalidMs?: number;
  /** Most entries kept; the oldest is dropped first. Default `10000`. */
  maxEntries?: number;
}

/** Options of {@link redisSessionStore}. */
export interface RedisSessionStoreOptions {
  /** Name for logs and metrics. Default `redisSessionStore`. */
  name?: string;
  /** Prefix of every key (no braces: girder adds a hash tag after it). Default `girder:jwt:`. */
  prefix?: string;
  /** Give up on a Redis command after this many ms (the store is then "unavailable"). Default `1000`. */
  timeoutMs?: number;
  /** Cache answers in process (see {@link SessionCacheOptions}); off unless given. */
  cache?: SessionCacheOptions;
  /** How many sessions one `revokeAll` / `ban` script touches at most per round trip. Default `256`. */
  batchSize?: number;
}

const schema = z.strictObject({
  name: z.string().min(1).default('redisSessionStore'),
  client: z.custom<RedisCommandClient>(
    (c) => typeof (c as RedisCommandClient | null)?.call === 'function',
    'expected a Redis client with a call() method (ioredis Redis or Cluster)',
  ),
  prefix: z.string().refine(checkPrefix, 'must not contain { or }').default('girder:jwt:'),
  timeoutMs: z.number().int().positive().default(1000),
  cache: z
    .strictObject({
      validMs: z.number().int().min(0).default(1000),
      invalidMs: z.number().int().min(0).default(60_000),
      maxEntries: z.number().int().positive().default(10_000),
    })
    .optional(),
  batchSize: z.number().int().positive().max(10_000).default(256),
});

// Session hash: sub, rt (current refresh jti), st (a = active, r = revoked, b = banned);
// after a rotation with a grace: pv (the jti it replaced), pu (until when, ms, on the
// token service's clock) and sc (the sealed successor pair handed back to a replay).
const CREATE = new RedisScript(`
if redis.call('EXISTS', KEYS[3]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'sub', ARGV[1], 'rt', ARGV[2], 'st', 'a')
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[4])
redis.call('ZADD', KEYS[2], ARGV[5], ARGV[6])
if redis.call('PTTL', KEYS[2]) < tonumber(ARGV[3]) then redis.call('PEXPIRE', KEYS[2], ARGV[3]) end
return 1
`);

const ROTATE = new RedisScript(`
local st = redis.call('HGET', KEYS[1], 'st')
if not st then return 'missing' end
if st ~= 'a' then return st end
if redis.call('EXISTS', KEYS[3]) == 1 then
  redis.call('HSET', KEYS[1], 'st', 'b')
  return 'b'
end
if redis.call('HGET', KEYS[1], 'rt') ~= ARGV[1] then
  local prev = redis.call('HMGET', KEYS[1], 'pv', 'pu', 'sc')
  if prev[1] == ARGV[1] and tonumber(prev[2]) > tonumber(ARGV[6]) then
    return {'replayed', prev[3]}
  end
  redis.call('HSET', KEYS[1], 'st', 'r')
  return 'reused'
end
if tonumber(ARGV[7]) > 0 then
  redis.call('HSET', KEYS[1], 'pv', ARGV[1], 'pu', tonumber(ARGV[6]) + tonumber(ARGV[7]), 'sc', ARGV[8])
else
  redis.call('HDEL', KEYS[1], 'pv', 'pu', 'sc')
end
redis.call('HSET', KEYS[1], 'rt', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[5])
if redis.call('PTTL', KEYS[2]) < tonumber(ARGV[3]) then redis.call('PEXPIRE', KEYS[2], ARGV[3]) end
return 'rotated'
`);

const REVOKE = new RedisScript(`
if redis.call('HGET', KEYS[1], 'st') == 'a' then
  redis.call('HSET', KEYS[1], 'st', 'r')
  return 1
end
return 0
`);

// KEYS[1] = the subject's index, KEYS[2..] = its sessions; ARGV[1] = new state, ARGV[2..] = members.
const END_ALL = new RedisScript(`
local n = 0
for i = 2, #KEYS do
  if redis.call('HGET', KEYS[i], 'st') == 'a' then
    redis.call('HSET', KEYS[i], 'st', ARGV[1])
    n = n + 1
  end
  redis.call('ZREM', KEYS[1], ARGV[i])
end
return n
`);

const STATES: Record<string, SessionState> = { a: 'active', r: 'revoked', b: 'banned' };
const ROTATIONS: Record<string, RotateResult> = {
  rotated: 'rotated',
  reused: 'reused',
  r: 'revoked',
  b: 'banned',
  missing: 'missing',
};

/**
 * Session store on Redis, shared by every instance: a logout, `logoutAll` or ban on
 * one instance is seen by the next request on any other. The per-request check is one
 * `HGET` (one round trip; no script); `create` and `rotate` are one Lua script each,
 * atomic with the ban check and with refresh-token reuse detection. A subject's keys
 * share a hash tag, so the store works on Redis Cluster. Every key has a TTL: a
 * session (and its revocation mark) lives until its last refresh token expires.
 *
 * The optional `cache` keeps answers in process for a short, bounded time; see
 * {@link SessionCacheOptions} for the staleness it trades for round trips.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import { redisSessionStore, tokenService } from 'girder/jwt';
 *
 * const redis = new Redis(process.env.REDIS_URL!);
 * const tokens = tokenService({
 *   keys,
 *   sessionStore: redisSessionStore(redis, { prefix: 'shop:auth:', cache: { validMs: 500 } }),
 * });
 * ```
 */
export function redisSessionStore(
  client: RedisCommandClient,
  options: RedisSessionStoreOptions = {},
): SessionStore & AsyncDisposable {
  const opts = parseOptions('redisSessionStore', schema, { ...options, client });
  const { prefix, timeoutMs, cache, batchSize } = opts;
  const answers = cache ? new Map<string, { state: SessionState; until: number }>() : undefined;

  const sessionKey = (sessionId: string) =>
    `${prefix}{${sessionId.slice(0, SESSION_TAG_LENGTH)}}:s:${sessionId.slice(SESSION_TAG_LENGTH)}`;
  const indexKey = (subject: string) => `${prefix}{${subjectTag(subject)}}:i:${subject}`;
  const banKey = (subject: string) => `${prefix}{${subjectTag(subject)}}:b:${subject}`;
  const bounded = <T>(work: () => Promise<T>): Promise<T> => withTimeout(work, { timeoutMs });
  // Scripts carry the same deadline to the server, which refuses to apply them after it.
  const script = { timeoutMs };

  const remember = (sessionId: string, state: SessionState, now: number) => {
    if (!answers || !cache) return;
    const ttl = state === 'active' ? cache.validMs : cache.invalidMs;
    if (ttl === 0) return;
    answers.delete(sessionId);
    if (answers.size >= cache.maxEntries) {
      const oldest = answers.keys().next();
      if (!oldest.done) answers.delete(oldest.value);
    }
    answers.set(sessionId, { state, until: now + ttl });
  };

  const endAll = async (subject: string, state: 'r' | 'b', now: number): Promise<number> => {
    const index = indexKey(subject);
    const members = (await bounded(() =>
      client.call('ZRANGEBYSCORE', index, `(${now}`, '+inf'),
    )) as string[];
    let ended = 0;
    for (let i = 0; i < members.length; i += batchSize) {
      const batch = members.slice(i, i + batchSize);
      ended += Number(
        await bounded(() =>
          END_ALL.run(client, [index, ...batch.map(sessionKey)], [state, ...batch], script),
        ),
      );
      for (const id of batch) answers?.delete(id);
    }
    return ended;
  };

  return {
    async create({ sessionId, subject, refreshId, ttlMs, now }) {
      const created = await bounded(() =>
        CREATE.run(
          client,
          [sessionKey(sessionId), indexKey(subject), banKey(subject)],
          [subject, refreshId, ttlMs, now, now + ttlMs, sessionId],
          script,
        ),
      );
      return Number(created) === 1;
    },

    async check(sessionId, now) {
      if (answers) {
        const hit = answers.get(sessionId);
        if (hit !== undefined) {
          if (hit.until > now) return hit.state;
          answers.delete(sessionId);
        }
      }
      const raw = await bounded(() => client.call('HGET', sessionKey(sessionId), 'st'));
      const state = (typeof raw === 'string' && STATES[raw]) || 'missing';
      remember(sessionId, state, now);
      return state;
    },

    async rotate({ sessionId, subject, presentedId, nextId, ttlMs, now, graceMs, successor }) {
      answers?.delete(sessionId);
      const grace = successor === undefined ? 0 : (graceMs ?? 0);
      const raw = await bounded(() =>
        ROTATE.run(
          client,
          [sessionKey(sessionId), indexKey(subject), banKey(subject)],
          [presentedId, nextId, ttlMs, now + ttlMs, sessionId, now, grace, successor ?? ''],
          script,
        ),
      );
      if (Array.isArray(raw) && raw[0] === 'replayed' && typeof raw[1] === 'string') {
        return { result: 'replayed', successor: raw[1] };
      }
      return ROTATIONS[String(raw)] ?? 'missing';
    },

    async revoke(sessionId) {
      answers?.delete(sessionId);
      return (
        Number(await bounded(() => REVOKE.run(client, [sessionKey(sessionId)], [], script))) === 1
      );
    },

    async revokeAll(subject, now) {
      return endAll(subject, 'r', now);
    },

    async ban(subject, ttlMs, now) {
      const key = banKey(subject);
      await bounded(() =>
        ttlMs === undefined
          ? client.call('SET', key, '1')
          : client.call('SET', key, '1', 'PX', ttlMs),
      );
      return endAll(subject, 'b', now);
    },

    async unban(subject) {
      return Number(await bounded(() => client.call('DEL', banKey(subject)))) === 1;
    },

    async isBanned(subject) {
      return Number(await bounded(() => client.call('EXISTS', banKey(subject)))) === 1;
    },

    async close() {
      answers?.clear();
    },
    async [Symbol.asyncDispose]() {
      await this.close();
    },
  };
}
