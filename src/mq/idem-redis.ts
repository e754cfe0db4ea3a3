// The Redis idempotency store: two states under one hash-tagged key per business key.
//   claim:   absent -> "p:<token>" with PX processingTtlMs (the work may run)
//   success: "p:<token>" -> "done" with PX ttlMs (later deliveries are skipped)
//   failure: "p:<token>" -> absent (a retry may run)
// Each transition is one script, so a claim can never overwrite a "done" mark and a
// worker can only release its own claim.
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import {
  checkSignal,
  parseOptions,
  type RedisClient,
  redisKey,
  redisPrefixSchema,
  redisRunner,
  redisScript,
  throwIfAborted,
} from '../core/index.js';
import { ttlSchemas } from './idem-memory.js';
import {
  checkIdempotencyKey,
  checkWork,
  IdempotencyBusyError,
  type IdempotencyStore,
} from './idem-store.js';

/**
 * Options of {@link redisIdempotencyStore}.
 *
 * @example
 * ```ts
 * const options: RedisIdempotencyStoreOptions = { prefix: 'shop:paid', ttlMs: 7 * 86_400_000 };
 * ```
 */
export interface RedisIdempotencyStoreOptions {
  /** Key prefix (no `{` or `}`): keys are `{prefix:businessKey}`. Default `girder:idem`. */
  prefix?: string;
  /** How long a "done" mark is kept, ms: a redelivery after that runs again. Default 7 days. */
  ttlMs?: number;
  /**
   * How long a claim lasts while the work runs, ms. Make it longer than the slowest
   * handler: past it, another delivery may run the same key concurrently. A worker that
   * crashed mid-work frees its key after it. Default 60 000.
   */
  processingTtlMs?: number;
  /** Per-command deadline, ms (see core `redisRunner`). Default 1 000. */
  commandTimeoutMs?: number;
  /** A name for errors, logs and metrics. Default `idempotency`. */
  name?: string;
}

const schema = z.strictObject({
  prefix: redisPrefixSchema('girder:idem'),
  ...ttlSchemas,
  commandTimeoutMs: z.number().int().min(0).max(60_000).default(1_000),
  name: z.string().min(1).max(200).default('idempotency'),
});

/** ARGV: token, processingTtlMs. Reply: 1 claimed, 0 already done, 2 claimed by another. */
const CLAIM = redisScript(`local v = redis.call('GET', KEYS[1])
if not v then
  redis.call('SET', KEYS[1], 'p:' .. ARGV[1], 'PX', ARGV[2])
  return 1
end
if v == 'done' then return 0 end
return 2`);

/**
 * ARGV: token, ttlMs. Marks the key done whatever claim it holds (the work did run), and
 * replies 1 if the claim was still ours, 0 if it had expired (another delivery may have
 * run the work too: the window the docs describe).
 */
const DONE = redisScript(`local v = redis.call('GET', KEYS[1])
redis.call('SET', KEYS[1], 'done', 'PX', ARGV[2])
if v == 'p:' .. ARGV[1] then return 1 end
return 0`);

/** ARGV: token. Deletes the claim only while it is still ours. */
const RELEASE = redisScript(`if redis.call('GET', KEYS[1]) == 'p:' .. ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0`);

/**
 * An {@link IdempotencyStore} on Redis (a single server or ioredis `Cluster`). Before the
 * work runs, the key is claimed (`processing`, for `processingTtlMs`); a success marks it
 * `done` for `ttlMs`, a failure releases it so a retry can run. A second delivery while
 * the first is running gets {@link IdempotencyBusyError} (retry it later), one after it is
 * skipped.
 *
 * What it cannot promise, because the mark and the side effect are in two systems:
 * - a worker killed after its side effect and before the mark leaves a claim that
 *   expires after `processingTtlMs`; the redelivery then runs the work again;
 * - work slower than `processingTtlMs` may overlap a redelivery of the same key;
 * - a redelivery after `ttlMs` runs again;
 * - a Redis failover losing the last writes loses their marks.
 * Side effects in your SQL database want `sqlIdempotencyStore` instead.
 *
 * It does not own `client`: `close()` stops the runner's timers only. Redis errors
 * reject (`RedisUnavailableError`) before the work runs; after the work ran, a failed
 * mark rejects too (the claim then expires after `processingTtlMs`).
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import { idempotent, redisIdempotencyStore } from 'girder/mq';
 *
 * const store = redisIdempotencyStore(new Redis(), { prefix: 'shop:notified', ttlMs: 86_400_000 });
 * const handler = idempotent(async (msg) => notify(msg.text()), { store, key: (m) => m.key ?? m.id });
 * ```
 */
export function redisIdempotencyStore(
  client: RedisClient,
  options: RedisIdempotencyStoreOptions = {},
): IdempotencyStore {
  const o = parseOptions('redisIdempotencyStore', schema, options);
  const runner = redisRunner(client, { name: o.name, commandTimeoutMs: o.commandTimeoutMs });
  return {
    kind: 'redis',
    async once(key, work, signal) {
      checkIdempotencyKey(key);
      checkWork(work);
      throwIfAborted(checkSignal(signal));
      const k = redisKey(o.prefix, key);
      const token = randomUUID();
      const claimed = Number(await runner.eval(CLAIM, [k], [token, o.processingTtlMs]));
      if (claimed === 0) return false;
      if (claimed === 2) throw new IdempotencyBusyError(key);
      try {
        await work({ key });
      } catch (error) {
        // Best effort: if this fails too, the claim expires after processingTtlMs.
        await runner.eval(RELEASE, [k], [token]).catch(() => undefined);
        throw error;
      }
      await runner.eval(DONE, [k], [token, o.ttlMs]);
      return true;
    },
    async close() {
      runner.close();
    },
    async [Symbol.asyncDispose]() {
      runner.close();
    },
  };
}
