// Verification codes on Redis: one hash per (purpose, phone) under one hash-tagged key,
// so each step is one script on one slot (Redis Cluster safe). Time is the server's
// (TIME), so every instance agrees on expiry and cooldown whatever its own clock says.
import { z } from 'zod';
import {
  parseOptions,
  type RedisClient,
  redisKey,
  redisPrefixSchema,
  redisRunner,
  redisScript,
} from '../core/index.js';
import { type CheckOutcome, type CodeStore, type IssueOutcome, keepMs } from './code-store.js';

/**
 * Options of {@link redisCodeStore}.
 *
 * @example
 * ```ts
 * const options: RedisCodeStoreOptions = { prefix: 'shop:code', commandTimeoutMs: 300 };
 * ```
 */
export interface RedisCodeStoreOptions {
  /** Key prefix (no `{` or `}`): keys are `{prefix:purpose:phone}`. Default `girder:code`. */
  prefix?: string;
  /** Per-command deadline, ms (see core `redisRunner`). Default 1 000. */
  commandTimeoutMs?: number;
  /** Name in errors. Default `codes`. */
  name?: string;
}

const schema = z.strictObject({
  prefix: redisPrefixSchema('girder:code'),
  commandTimeoutMs: z.number().int().min(0).max(60_000).default(1_000),
  name: z.string().min(1).default('codes'),
});

// Fields: h = code hash ('' once used or burnt), s = sent at, e = expires at,
// n = wrong guesses left. Times are server ms from TIME.
const NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

/** ARGV: hash, ttlMs, resendAfterMs, maxAttempts, keepMs. Reply: {1, expiresAt} or {0, retryAfterMs}. */
const ISSUE = redisScript(`${NOW}local sent = tonumber(redis.call('HGET', KEYS[1], 's'))
local resend = tonumber(ARGV[3])
if sent and now - sent < resend then
  return {0, resend - (now - sent)}
end
local expires = now + tonumber(ARGV[2])
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'h', ARGV[1], 's', now, 'e', expires, 'n', ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return {1, expires}`);

/** ARGV: hash. Deletes the record only while it still holds that code. */
const REVOKE = redisScript(`if redis.call('HGET', KEYS[1], 'h') == ARGV[1] then
  redis.call('DEL', KEYS[1])
end
return 0`);

/**
 * ARGV: candidate hash. Reply: {status, attemptsLeft} with status 1 ok, 2 invalid,
 * 3 exceeded, 4 expired, 0 none. The hashes are HMAC digests under a secret Redis never
 * sees, so comparing them leaks nothing an attacker could steer; Lua compares interned
 * strings by identity anyway.
 */
const CHECK = redisScript(`${NOW}local r = redis.call('HMGET', KEYS[1], 'h', 'e', 'n')
local h, e, n = r[1], tonumber(r[2]), tonumber(r[3])
if not h then return {0, 0} end
if h == '' then
  if n and n <= 0 then return {3, 0} end
  return {0, 0}
end
if now >= e then return {4, 0} end
if h == ARGV[1] then
  redis.call('HSET', KEYS[1], 'h', '')
  return {1, 0}
end
n = n - 1
if n <= 0 then
  redis.call('HSET', KEYS[1], 'h', '', 'n', 0)
  return {3, 0}
end
redis.call('HSET', KEYS[1], 'n', n)
return {2, n}`);

const STATUS: Record<number, CheckOutcome['status']> = {
  0: 'none',
  1: 'ok',
  2: 'invalid',
  3: 'exceeded',
  4: 'expired',
};

/**
 * A {@link CodeStore} on Redis (a single server or ioredis `Cluster`), shared by every
 * instance. `issue` and `check` are one Lua script each, on one hash-tagged key, using
 * the server's clock; every key has a TTL. It does not own `client`: `close()` stops the
 * runner's timers only.
 *
 * Failure: a Redis error rejects (`RedisUnavailableError`); `codeService` then sends no
 * SMS and accepts no code (fails closed).
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import { codeService, redisCodeStore } from 'girder/sms';
 *
 * const store = redisCodeStore(new Redis({ enableAutoPipelining: true }), { prefix: 'shop:code' });
 * const codes = codeService({ sms, store, template: 'login_code', secret: process.env.CODE_SECRET! });
 * ```
 */
export function redisCodeStore(
  client: RedisClient,
  options: RedisCodeStoreOptions = {},
): CodeStore {
  const opts = parseOptions('redisCodeStore', schema, options);
  const runner = redisRunner(client, {
    name: opts.name,
    commandTimeoutMs: opts.commandTimeoutMs,
  });
  const key = (k: string) => redisKey(opts.prefix, k);
  return {
    kind: 'redis',
    async issue(k, hash, limits): Promise<IssueOutcome> {
      const [issued, value] = (await runner.eval(
        ISSUE,
        [key(k)],
        [hash, limits.ttlMs, limits.resendAfterMs, limits.maxAttempts, keepMs(limits)],
      )) as [number, number];
      return issued === 1
        ? { issued: true, expiresAt: Number(value) }
        : { issued: false, retryAfterMs: Number(value) };
    },
    async revoke(k, hash) {
      await runner.eval(REVOKE, [key(k)], [hash]);
    },
    async check(k, hash): Promise<CheckOutcome> {
      const [status, left] = (await runner.eval(CHECK, [key(k)], [hash])) as [number, number];
      const name = STATUS[Number(status)] ?? 'none';
      return name === 'invalid'
        ? { status: name, attemptsLeft: Number(left) }
        : ({ status: name } as CheckOutcome);
    },
    async close() {
      runner.close();
    },
    async [Symbol.asyncDispose]() {
      runner.close();
    },
  };
}
