// The counters contract shared by the memory and Redis backends, and the argument checks
// both run before touching any state.
import { z } from 'zod';
import { type EventSource, GirderError, InvalidArgumentError } from '../core/index.js';

/**
 * Options of {@link Counters.init}.
 *
 * @example
 * ```ts
 * import type { CounterInitOptions } from 'girder/cache';
 *
 * const options: CounterInitOptions = { ttlMs: 600_000, replace: true };
 * await counters.init('post:7', { likes: 12, views: 300 }, options);
 * ```
 */
export interface CounterInitOptions {
  /** How long the loaded hash lives, ms. Default: the backend's `ttlMs`. */
  ttlMs?: number;
  /**
   * Overwrite a hash that already exists (its fields are replaced, not merged). Default
   * `false`: an existing hash is left as it is, so a late loader never wipes increments
   * that landed after the first load.
   */
  replace?: boolean;
}

/**
 * Events of a {@link Counters} backend.
 *
 * @example
 * ```ts
 * counters.events.on('miss', ({ key }) => console.log(`${key} is not loaded: read the DB`));
 * counters.events.on('error', ({ op, error }) => console.warn(`counters ${op} failed`, error));
 * ```
 */
export type CounterEvents = {
  /** `incr` found no hash: nothing was counted (load it from the source of truth). */
  miss: {
    /** The counters' `name`. */
    name: string;
    /** The logical key. */
    key: string;
  };
  /** A backend call failed; the same error rejects the call. */
  error: {
    /** The counters' `name`. */
    name: string;
    /** The method that failed. */
    op: 'incr' | 'init' | 'get' | 'getMany' | 'getAll' | 'delete';
    /** The logical key. */
    key: string;
    /** The typed error (`REDIS_UNAVAILABLE` or `REDIS_COMMAND_ERROR`). */
    error: unknown;
  };
};

/**
 * Hashes of integer counters (likes, views, stock sold...) that are incremented only
 * while they exist. The source of truth (your database) is written first; the counters
 * are a cache of it: `incr` on a key that is not loaded changes nothing and answers
 * `undefined`, so the next reader loads the true figures with `init` instead of
 * starting from a wrong zero. Every hash expires `ttlMs` after it was loaded (`incr` does
 * not extend it), which bounds how long a drift from the database can live.
 *
 * Made by {@link redisCounters} (shared by every instance) or {@link memoryCounters}
 * (one process).
 *
 * @example
 * ```ts
 * import { redisCounters } from 'girder/cache';
 *
 * const counters = redisCounters(redis, { prefix: 'shop:counters', ttlMs: 600_000 });
 * await db.like(postId, userId);
 * if ((await counters.incr(`post:${postId}`, 'likes', 1)) === undefined) {
 *   await counters.init(`post:${postId}`, await db.postCounts(postId));
 * }
 * const likes = await counters.get(`post:${postId}`, 'likes');
 * ```
 */
export interface Counters {
  /** Which backend. */
  readonly kind: 'memory' | 'redis';
  /** The `name` option (events and errors carry it). */
  readonly name: string;
  /** Typed events: `miss`, `error`. */
  readonly events: EventSource<CounterEvents>;
  /**
   * Add `by` (a safe integer, may be negative; default 1) to `field` of `key`, only if
   * the hash exists (a missing field of an existing hash starts at 0). Resolves with the
   * new value, or `undefined` when the hash does not exist. One atomic step.
   */
  incr(key: string, field: string, by?: number): Promise<number | undefined>;
  /**
   * Create the hash `key` with `fields` (field to safe integer; 1 to 1 000 fields) and a
   * TTL. Resolves `true` when written, `false` when it already existed and
   * `replace` was not set. One atomic step.
   */
  init(
    key: string,
    fields: Readonly<Record<string, number>>,
    options?: CounterInitOptions,
  ): Promise<boolean>;
  /** One field's value, or `undefined` when the hash or the field does not exist. */
  get(key: string, field: string): Promise<number | undefined>;
  /** Several fields of one hash, in the order asked (`undefined` for missing ones). */
  getMany(key: string, fields: readonly string[]): Promise<(number | undefined)[]>;
  /** Every field of the hash, or `undefined` when it does not exist. */
  getAll(key: string): Promise<Record<string, number> | undefined>;
  /** Remove the hash (e.g. after a bulk change in the database). Resolves whether it existed. */
  delete(key: string): Promise<boolean>;
  /** Stop using the backend (the Redis client stays yours); later calls reject. */
  close(): void;
  /** Same as `close()`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * A call on {@link Counters} after `close()` (code `COUNTERS_CLOSED`).
 *
 * @example
 * ```ts
 * import { CountersClosedError } from 'girder/cache';
 *
 * counters.close();
 * await counters.get('post:7', 'likes').catch((e) => e instanceof CountersClosedError); // true
 * ```
 */
export class CountersClosedError extends GirderError {
  constructor(name: string) {
    super('COUNTERS_CLOSED', `counters ${name} were closed`);
  }
}

/**
 * Most fields one `init` or `getMany` takes (the Lua stack bounds a script's arguments).
 *
 * @example
 * ```ts
 * import { MAX_COUNTER_FIELDS } from 'girder/cache';
 *
 * for (let i = 0; i < names.length; i += MAX_COUNTER_FIELDS) {
 *   await counters.getMany(key, names.slice(i, i + MAX_COUNTER_FIELDS));
 * }
 * ```
 */
export const MAX_COUNTER_FIELDS = 1_000;

/** The largest `ttlMs` accepted: 30 days. */
const MAX_TTL_MS = 30 * 86_400_000;

/** @internal Schema of `ttlMs` (factory option and `init` option). */
export const counterTtlSchema = z.number().int().min(1).max(MAX_TTL_MS);

/** @internal The options every counters backend takes: `name` and the default `ttlMs`. */
export const countersFields = {
  name: z.string().min(1).default('counters'),
  ttlMs: counterTtlSchema.default(600_000),
};

const initSchema = z.strictObject({
  ttlMs: counterTtlSchema.optional(),
  replace: z.boolean().optional(),
});

/** @internal */
export function checkCounterKey(key: unknown, argument = 'key'): string {
  if (typeof key !== 'string' || key.length === 0) {
    throw new InvalidArgumentError(argument, 'must be a non-empty string');
  }
  return key;
}

/** @internal */
export function checkCounterBy(by: unknown): number {
  if (typeof by !== 'number' || !Number.isSafeInteger(by)) {
    throw new InvalidArgumentError('by', 'must be a safe integer');
  }
  return by;
}

/** @internal */
export function checkCounterFieldList(fields: unknown): readonly string[] {
  if (!Array.isArray(fields) || fields.length === 0 || fields.length > MAX_COUNTER_FIELDS) {
    throw new InvalidArgumentError(
      'fields',
      `must be an array of 1 to ${MAX_COUNTER_FIELDS} field names`,
    );
  }
  for (const field of fields) checkCounterKey(field, 'fields');
  return fields as readonly string[];
}

/** @internal The fields of `init` as [field, value] pairs, checked. */
export function checkCounterFields(fields: unknown): [string, number][] {
  if (fields === null || typeof fields !== 'object' || Array.isArray(fields)) {
    throw new InvalidArgumentError('fields', 'must be an object of field -> integer');
  }
  const entries = Object.entries(fields as Record<string, unknown>);
  if (entries.length === 0 || entries.length > MAX_COUNTER_FIELDS) {
    throw new InvalidArgumentError('fields', `must hold 1 to ${MAX_COUNTER_FIELDS} fields`);
  }
  for (const [field, value] of entries) {
    if (field.length === 0)
      throw new InvalidArgumentError('fields', 'field names must not be empty');
    if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
      throw new InvalidArgumentError('fields', `${field} must be a safe integer`);
    }
  }
  return entries as [string, number][];
}

/** @internal `init`'s options, checked (a typo is a bad argument, not a silent default). */
export function checkCounterInit(options: unknown): CounterInitOptions {
  if (options === undefined) return {};
  const parsed = initSchema.safeParse(options);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.map(String).join('.') || 'options';
    throw new InvalidArgumentError(
      `options.${where}`.replace('options.options', 'options'),
      issue?.message ?? 'invalid',
    );
  }
  return parsed.data;
}

// One check per operation, so both backends refuse exactly the same input the same way.

/** @internal `incr(key, field, by)`'s arguments, checked. */
export function checkIncrArgs(key: unknown, field: unknown, by: unknown): void {
  checkCounterKey(key);
  checkCounterKey(field, 'field');
  checkCounterBy(by);
}

/** @internal `get(key, field)`'s arguments, checked. */
export function checkGetArgs(key: unknown, field: unknown): void {
  checkCounterKey(key);
  checkCounterKey(field, 'field');
}

/** @internal `getMany(key, fields)`'s arguments, checked. */
export function checkGetManyArgs(key: unknown, fields: unknown): void {
  checkCounterKey(key);
  checkCounterFieldList(fields);
}

/** @internal `init(key, fields, options)`'s arguments, checked, with the backend's default TTL filled in. */
export function checkInitArgs(
  key: unknown,
  fields: unknown,
  options: unknown,
  defaultTtlMs: number,
): { pairs: [string, number][]; ttlMs: number; replace: boolean } {
  checkCounterKey(key);
  const pairs = checkCounterFields(fields);
  const { ttlMs = defaultTtlMs, replace = false } = checkCounterInit(options);
  return { pairs, ttlMs, replace };
}
