// The strict schema of cache(): every option with its default and range.
import { z } from 'zod';
import { clockSchema, systemClock } from '../core/index.js';
import type { Locker } from '../lock/index.js';
import type { CacheBus, CacheStore, Serializer } from './types.js';

const DAY_MS = 86_400_000;
const ms = (max: number) => z.number().int().min(0).max(max);

const storeSchema = z.custom<CacheStore>(
  (v) =>
    typeof v === 'object' &&
    v !== null &&
    ['get', 'getMany', 'set', 'setMany', 'delete', 'tagVersions', 'bumpTag', 'clear'].every(
      (m) => typeof (v as Record<string, unknown>)[m] === 'function',
    ),
  { message: 'must be a CacheStore (redisCacheStore(), memoryCacheStore())' },
);

const busSchema = z.custom<CacheBus>(
  (v) =>
    typeof v === 'object' &&
    v !== null &&
    typeof (v as CacheBus).publish === 'function' &&
    typeof (v as CacheBus).subscribe === 'function',
  { message: 'must be a CacheBus (redisBus(), memoryBus())' },
);

const serializerSchema = z.custom<Serializer<unknown>>(
  (v) =>
    typeof v === 'object' &&
    v !== null &&
    typeof (v as Serializer<unknown>).serialize === 'function' &&
    typeof (v as Serializer<unknown>).deserialize === 'function',
  { message: 'must have serialize() and deserialize()' },
);

const lockerSchema = z.custom<Locker>(
  (v) => typeof v === 'object' && v !== null && typeof (v as Locker).acquire === 'function',
  { message: 'must be a Locker (girder/lock)' },
);

const timeoutsSchema = z.strictObject({
  softMs: ms(DAY_MS).default(0),
  hardMs: ms(DAY_MS).default(0),
});

const jsonSerializer: Serializer<unknown> = {
  serialize: (value) => JSON.stringify(value),
  deserialize: (text) => JSON.parse(text),
};

/** @internal */
export const cacheSchema = z
  .strictObject({
    name: z.string().min(1).default('cache'),
    l1: z
      .union([
        z.literal(false),
        z.strictObject({
          maxEntries: z.number().int().min(1).max(100_000_000),
          maxBytes: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).optional(),
        }),
      ])
      .default({ maxEntries: 10_000 }),
    l2: storeSchema.optional(),
    bus: busSchema.optional(),
    ttlMs: z
      .number()
      .int()
      .min(1)
      .max(365 * DAY_MS)
      .default(60_000),
    graceMs: ms(365 * DAY_MS).default(0),
    negativeTtlMs: ms(365 * DAY_MS).default(5_000),
    timeouts: timeoutsSchema.default({ softMs: 0, hardMs: 0 }),
    maxTtlMs: z
      .number()
      .int()
      .min(1)
      .max(3650 * DAY_MS)
      .default(7 * DAY_MS),
    serializer: serializerSchema.default(jsonSerializer),
    clock: clockSchema.default(systemClock),
    singleflight: z.enum(['local', 'cluster']).default('local'),
    locker: lockerSchema.optional(),
    lockWaitMs: ms(DAY_MS).default(5_000),
    onStoreError: z.enum(['local', 'deny']).default('local'),
    storeRetryMs: ms(DAY_MS).default(1_000),
    refreshBackoffMs: ms(DAY_MS).default(1_000),
  })
  .superRefine((o, ctx) => {
    if (o.singleflight === 'cluster' && o.locker === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['locker'],
        message: "is required with singleflight 'cluster'",
      });
    }
    if (o.singleflight === 'cluster' && o.l2 === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['l2'],
        message: "is required with singleflight 'cluster'",
      });
    }
    if (o.l1 === false && o.l2 === undefined) {
      ctx.addIssue({ code: 'custom', path: ['l1'], message: 'l1 false needs an l2 store' });
    }
    if (o.ttlMs + o.graceMs > o.maxTtlMs) {
      ctx.addIssue({
        code: 'custom',
        path: ['maxTtlMs'],
        message: 'must be at least ttlMs + graceMs',
      });
    }
  });

/** @internal */
export type ParsedCacheOptions = z.output<typeof cacheSchema>;
