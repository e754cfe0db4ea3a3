// The in-process idempotency store: the same claim-then-mark states as the Redis store,
// in a Map, with the injected clock for both TTLs. For tests and single-process apps.
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import {
  type Clock,
  checkSignal,
  clockSchema,
  parseOptions,
  systemClock,
  throwIfAborted,
} from '../core/index.js';
import {
  checkIdempotencyKey,
  checkWork,
  IdempotencyBusyError,
  type IdempotencyContext,
  type IdempotencyStore,
} from './idem-store.js';

/**
 * Options of {@link memoryIdempotencyStore}.
 *
 * @example
 * ```ts
 * const options: MemoryIdempotencyStoreOptions = { ttlMs: 3_600_000, maxKeys: 100_000 };
 * ```
 */
export interface MemoryIdempotencyStoreOptions {
  /** How long a "done" mark is kept, ms. Default 7 days. */
  ttlMs?: number;
  /** How long a claim lasts while the work runs, ms: a crashed worker's key is free again after it. Default 60 000. */
  processingTtlMs?: number;
  /** Marks kept at most; the oldest are dropped first (they then count as never processed). Default 1 000 000. */
  maxKeys?: number;
  /** Time source of both TTLs. Default `systemClock`. */
  clock?: Clock;
  /** A name for logs and metrics. */
  name?: string;
}

const MAX_MS = 2 ** 31 - 1;
/** @internal TTL options shared by the memory and Redis stores. */
export const ttlSchemas = {
  ttlMs: z
    .number()
    .int()
    .min(1)
    .max(MAX_MS * 16)
    .default(7 * 24 * 3_600_000),
  processingTtlMs: z.number().int().min(1).max(MAX_MS).default(60_000),
};

const schema = z.strictObject({
  ...ttlSchemas,
  maxKeys: z.number().int().min(1).max(100_000_000).default(1_000_000),
  clock: clockSchema.default(systemClock),
  name: z.string().min(1).max(200).optional(),
});

interface Entry {
  /** `undefined` once done, else the claim's token. */
  token: string | undefined;
  until: number;
}

/**
 * An {@link IdempotencyStore} in process memory: a key is claimed (for
 * `processingTtlMs`) while the work runs, marked done (for `ttlMs`) when it succeeds, and
 * released when it fails. Marks are lost with the process, so use it in tests and in
 * single-process apps whose redeliveries come from the same process.
 *
 * @example
 * ```ts
 * import { idempotent, memoryIdempotencyStore } from 'girder/mq';
 *
 * const handler = idempotent(async (msg) => book(msg.text()), {
 *   store: memoryIdempotencyStore({ ttlMs: 3_600_000 }),
 *   key: (msg) => msg.key ?? msg.id,
 * });
 * ```
 */
export function memoryIdempotencyStore(
  options: MemoryIdempotencyStoreOptions = {},
): IdempotencyStore {
  const o = parseOptions('memoryIdempotencyStore', schema, options);
  const entries = new Map<string, Entry>();
  const live = (key: string) => {
    const e = entries.get(key);
    if (e !== undefined && e.until <= o.clock.now()) {
      entries.delete(key);
      return undefined;
    }
    return e;
  };
  const put = (key: string, entry: Entry) => {
    entries.delete(key); // re-inserted last: Map order is age order
    entries.set(key, entry);
    while (entries.size > o.maxKeys) {
      const oldest = entries.keys().next().value as string;
      entries.delete(oldest);
    }
  };
  return {
    kind: 'memory',
    async once(key, work, signal) {
      checkIdempotencyKey(key);
      checkWork(work);
      throwIfAborted(checkSignal(signal));
      const current = live(key);
      if (current !== undefined) {
        if (current.token === undefined) return false;
        throw new IdempotencyBusyError(key);
      }
      const token = randomUUID();
      put(key, { token, until: o.clock.now() + o.processingTtlMs });
      try {
        await work({ key } satisfies IdempotencyContext);
      } catch (error) {
        if (entries.get(key)?.token === token) entries.delete(key);
        throw error;
      }
      put(key, { token: undefined, until: o.clock.now() + o.ttlMs });
      return true;
    },
    async close() {},
    async [Symbol.asyncDispose]() {},
  };
}
