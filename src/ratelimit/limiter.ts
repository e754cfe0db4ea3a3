// Internal: the behaviour every algorithm shares — validation, the memory and Redis
// paths, store-failure fallback and recovery, wait/peek/reset and events.
import { z } from 'zod';
import {
  type Clock,
  checkSignal,
  clockSchema,
  InvalidArgumentError,
  isGirderError,
  StoreFallback,
  type StoreRoute,
  sleep,
  systemClock,
  TypedEmitter,
  throwIfAborted,
} from '../core/index.js';
import { type Algorithm, decision, type MemoryState } from './algorithm.js';
import { batchNow } from './batch-now.js';
import { RateLimitedError, StoreClosedError } from './errors.js';
import { type MemoryStore, type MemoryTable, memoryStore } from './memory-store.js';
import type { RedisStore } from './redis-store.js';
import type {
  Decision,
  DecisionSource,
  LimitOptions,
  RateLimiter,
  RateLimiterEvents,
  RateLimitPolicy,
  StoreErrorMode,
  WaitOptions,
} from './types.js';

/** Where a limiter keeps its state: {@link memoryStore} or {@link redisStore}. */
export type RateLimitStore = MemoryStore | RedisStore;

/** Options every limiter factory accepts besides its algorithm's parameters. */
export interface LimiterOptions {
  /** Where state lives. Default: a new `memoryStore()` for this limiter. */
  store?: RateLimitStore;
  /** Time source for memory-store decisions, fallback and sleeping. Default `systemClock`. */
  clock?: Clock;
  /**
   * Namespace of this limiter's keys in its store. Limiters sharing a store need
   * distinct names unless they should share quotas. Default: a short algorithm code and
   * the parameters, e.g. `fw:100:60000` for `fixedWindow({ limit: 100, windowMs: 60_000 })`
   * (so changing the limit starts fresh keys; set a name to keep them).
   */
  name?: string;
  /**
   * What to answer while the store fails (Redis down or slow): `deny` every call
   * (fail closed), `allow` every call (fail open), or decide `local`ly in memory with
   * `1 / instances` of the quota. Default `deny`.
   */
  onStoreError?: StoreErrorMode;
  /**
   * How many processes share the quota, for `onStoreError: 'local'`: each then allows
   * `limit / instances` on its own. Default 1.
   */
  instances?: number;
  /**
   * After a store failure, how long (ms, on `clock`) calls skip the store and answer by
   * `onStoreError` before one call probes the store again. Default 1 000.
   */
  storeRetryMs?: number;
}

const isStore = (value: unknown): value is RateLimitStore =>
  typeof value === 'object' &&
  value !== null &&
  ((value as { kind?: unknown }).kind === 'memory' ||
    (value as { kind?: unknown }).kind === 'redis');

/** Largest quota (limit, capacity, max) a limiter accepts: costs stay exact integers. */
export const MAX_QUOTA = 1e12;
/** Longest window, lease or queue a limiter accepts: 10 years, in ms. */
export const MAX_WINDOW_MS = 315_576_000_000;
/** Slowest rate (tokens or calls per second) a bucket accepts: one per ~11.6 days. */
export const MIN_RATE_PER_SEC = 1e-6;
/** Fastest rate a bucket accepts. */
export const MAX_RATE_PER_SEC = 1e9;
/** Longest `storeRetryMs`: one day. */
const MAX_STORE_RETRY_MS = 86_400_000;

/** zod schema of a quota: a whole number in 1..{@link MAX_QUOTA}. */
export const quotaSchema = z.number().int().min(1).max(MAX_QUOTA);
/** zod schema of a window length: a whole number of ms in 1..{@link MAX_WINDOW_MS}. */
export const windowSchema = z.number().int().min(1).max(MAX_WINDOW_MS);

/** zod schema of a rate per second: {@link MIN_RATE_PER_SEC} to {@link MAX_RATE_PER_SEC}. */
export const rateSchema = z.number().min(MIN_RATE_PER_SEC).max(MAX_RATE_PER_SEC);

/** zod fields of {@link LimiterOptions}; algorithm schemas spread them in. */
export const limiterFields = {
  store: z
    .custom<RateLimitStore>(isStore, { message: 'must be a memoryStore() or redisStore()' })
    .optional(),
  clock: clockSchema.optional(),
  name: z.string().min(1).max(256).optional(),
  onStoreError: z.enum(['deny', 'allow', 'local']).default('deny'),
  instances: z.number().int().min(1).max(10_000).default(1),
  storeRetryMs: z.number().int().min(1).max(MAX_STORE_RETRY_MS).default(1_000),
};

/** Parsed {@link LimiterOptions}. */
export interface ParsedLimiterOptions {
  store?: RateLimitStore | undefined;
  clock?: Clock | undefined;
  name?: string | undefined;
  onStoreError: StoreErrorMode;
  instances: number;
  storeRetryMs: number;
}

/** Filled in by `decide` for callers that need to know who granted a decision. */
export interface DecideContext {
  source: DecisionSource;
  /** The table that granted a memory or `local` decision. */
  table: MemoryTable | undefined;
}

/** Fields a `limit`/`peek` options argument may have. */
export const LIMIT_OPTIONS: ReadonlySet<string> = new Set(['cost']);
const WAIT_OPTIONS = new Set(['cost', 'signal', 'maxWaitMs']);

/**
 * The cost asked for in a `limit`/`peek`/`wait` options argument: 1 when absent. `null`,
 * non-objects and unknown fields (a misspelt `maxWaitMS` would otherwise wait forever)
 * are refused; the cost itself is checked by `validate`.
 */
function costOf(options: unknown, known: ReadonlySet<string>): unknown {
  if (options === undefined) return 1;
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new InvalidArgumentError('options', 'must be an object');
  }
  for (const field in options) {
    if (!known.has(field)) {
      throw new InvalidArgumentError(`options.${field}`, 'is not a known option');
    }
  }
  const cost = (options as LimitOptions).cost;
  return cost === undefined ? 1 : cost;
}

/**
 * The limiter's emitter, which also tracks whether anyone listens to `decision`, so the
 * hot path tests a boolean field instead of a map.
 */
class LimiterEvents extends TypedEmitter<RateLimiterEvents> {
  hasDecisionListeners = false;

  override on<K extends keyof RateLimiterEvents>(
    event: K,
    listener: (payload: RateLimiterEvents[K]) => void,
  ): () => void {
    const off = super.on(event, listener);
    this.hasDecisionListeners = this.has('decision');
    return off;
  }

  override off<K extends keyof RateLimiterEvents>(
    event: K,
    listener: (payload: RateLimiterEvents[K]) => void,
  ): void {
    super.off(event, listener);
    this.hasDecisionListeners = this.has('decision');
  }

  override removeAll(event?: keyof RateLimiterEvents): void {
    super.removeAll(event);
    this.hasDecisionListeners = this.has('decision');
  }
}

/** Shared implementation of {@link RateLimiter}; one subclass-free instance per algorithm. */
export class Limiter<S extends MemoryState = MemoryState> implements RateLimiter<Decision> {
  readonly algorithm: string;
  readonly name: string;
  readonly policy: RateLimitPolicy;
  readonly clock: Clock;
  readonly events = new LimiterEvents();

  protected readonly alg: Algorithm<S>;
  /** The `onStoreError` mode, reported in `storeError` events. */
  protected readonly storeErrorMode: StoreErrorMode;
  protected readonly table: MemoryTable<S> | undefined;
  protected readonly redis: RedisStore | undefined;
  readonly #keyPrefix: string;
  readonly #instances: number;
  readonly #guard: StoreFallback;
  /** Whether `clock` is `systemClock`, read through {@link batchNow} on the memory path. */
  readonly #systemTime: boolean;
  #local: { alg: Algorithm<S>; store: MemoryStore; table: MemoryTable<S> } | undefined;

  constructor(alg: Algorithm<S>, options: ParsedLimiterOptions) {
    this.alg = alg;
    this.algorithm = alg.id;
    this.policy = {
      quota: alg.policy.quota,
      windowMs: alg.policy.windowMs,
      maxCost: alg.maxCost,
      integerCost: alg.integerCost,
    };
    this.clock = options.clock ?? systemClock;
    this.#systemTime = this.clock === systemClock;
    this.name = options.name ?? `${alg.code}:${alg.signature}`;
    this.#instances = options.instances;
    this.storeErrorMode = options.onStoreError;
    this.#guard = new StoreFallback({
      mode: options.onStoreError,
      retryMs: options.storeRetryMs,
      clock: this.clock,
      events: this.events,
      onRecovered: () => {
        this.#local?.store.close();
        this.#local = undefined;
      },
    });
    const store = options.store ?? memoryStore();
    if (store.kind === 'memory') {
      this.table = store.table<S>(this.name, alg.id);
      this.redis = undefined;
      this.#keyPrefix = '';
    } else {
      this.table = undefined;
      this.redis = store;
      this.#keyPrefix = `{${store.prefix}:${this.name}:`;
    }
  }

  limit(key: string, options?: LimitOptions): Promise<Decision> {
    const table = this.table;
    if (options === undefined && table !== undefined && typeof key === 'string' && key !== '') {
      // The hot path: memory store, cost 1 — nothing to validate beyond the key.
      const alg = this.alg;
      const now = this.#systemTime ? batchNow() : this.clock.now();
      if (now > table.lastNow) table.lastNow = now;
      const result = alg.step(table.obtain(key, alg), now, 1, false, undefined);
      if (this.events.hasDecisionListeners) this.#emitDecision(key, 1, result, 'store');
      return Promise.resolve(result);
    }
    if (
      options === undefined &&
      !this.#guard.down &&
      !this.events.hasDecisionListeners &&
      typeof key === 'string' &&
      key !== ''
    ) {
      // The Redis hot path: one promise from the store, no async frame, no closure
      // unless the call fails.
      return this.redis!.decide(this.alg.script, this.fullKey(key), '1', this.#fastReply, (error) =>
        this.#fastFailed(error, key),
      );
    }
    let cost: number;
    try {
      cost = this.checkedCost(key, options, LIMIT_OPTIONS);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.decide(key, cost, false, undefined, undefined);
  }

  peek(key: string, options?: LimitOptions): Promise<Decision> {
    let cost: number;
    try {
      cost = this.checkedCost(key, options, LIMIT_OPTIONS);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.decide(key, cost, true, undefined, undefined);
  }

  async wait(key: string, options?: WaitOptions): Promise<Decision> {
    const cost = this.checkedCost(key, options, WAIT_OPTIONS);
    const signal = checkSignal(options?.signal, 'options.signal');
    const maxWaitMs = options?.maxWaitMs ?? Number.POSITIVE_INFINITY;
    if (typeof maxWaitMs !== 'number' || Number.isNaN(maxWaitMs) || maxWaitMs < 0) {
      throw new InvalidArgumentError('options.maxWaitMs', 'must be a number >= 0');
    }
    const clock = this.clock;
    const start = clock.now();
    for (;;) {
      throwIfAborted(signal);
      const left = maxWaitMs - (clock.now() - start);
      const result = await this.waitStep(key, cost, Math.max(0, left));
      if (result.allowed) {
        if (result.delayMs > 0) await sleep(result.delayMs, { signal, clock });
        return result;
      }
      if (this.hopeless(result, left)) throw new RateLimitedError(key, result);
      await this.pause(key, Math.max(1, result.retryAfterMs), signal);
    }
  }

  async reset(key: string): Promise<void> {
    this.validate(key, 1);
    this.#local?.table.map.delete(key);
    if (this.table !== undefined) this.table.map.delete(key);
    else await this.redis!.del(this.fullKey(key));
  }

  /** One decision inside `wait`, with at most `maxWaitMs` of waiting left. */
  protected waitStep(key: string, cost: number, _maxWaitMs: number): Promise<Decision> {
    return this.decide(key, cost, false, undefined, undefined);
  }

  /** Whether a denied call cannot be allowed within `leftMs` of waiting. */
  protected hopeless(denied: Decision, leftMs: number): boolean {
    return denied.retryAfterMs > leftMs;
  }

  /** Sleep between attempts of `wait`. */
  protected pause(_key: string, ms: number, signal: AbortSignal | undefined): Promise<void> {
    return sleep(ms, { signal, clock: this.clock });
  }

  /** Validate a call's key and options; returns its cost. */
  protected checkedCost(key: string, options: unknown, known: ReadonlySet<string>): number {
    const cost = costOf(options, known);
    this.validate(key, cost);
    return cost as number;
  }

  protected validate(key: string, cost: unknown): asserts cost is number {
    if (typeof key !== 'string' || key.length === 0) {
      throw new InvalidArgumentError('key', 'must be a non-empty string');
    }
    if (cost === 1) return;
    if (typeof cost !== 'number' || !Number.isFinite(cost) || cost <= 0) {
      throw new InvalidArgumentError('cost', 'must be a finite number > 0');
    }
    if (this.alg.integerCost && !Number.isInteger(cost)) {
      throw new InvalidArgumentError('cost', `must be a whole number for ${this.alg.id}`);
    }
    if (cost > this.alg.maxCost) {
      throw new InvalidArgumentError(
        'cost',
        `${cost} exceeds this limiter's quota of ${this.alg.maxCost}, so it could never be allowed`,
      );
    }
  }

  protected fullKey(key: string): string {
    return `${this.#keyPrefix}${key}}`;
  }

  /** Decide one call. `ctx`, when given, learns which table or store granted it. */
  protected decide(
    key: string,
    cost: number,
    dry: boolean,
    extra: number | string | undefined,
    ctx: DecideContext | undefined,
  ): Promise<Decision> {
    const table = this.table;
    if (table === undefined) return this.#remote(key, cost, dry, extra, ctx);
    const result = this.#inMemory(table, this.alg, key, cost, dry, extra);
    if (ctx !== undefined) {
      ctx.source = 'store';
      ctx.table = table;
    }
    if (!dry && this.events.hasDecisionListeners) this.#emitDecision(key, cost, result, 'store');
    return Promise.resolve(result);
  }

  #inMemory(
    table: MemoryTable<S>,
    alg: Algorithm<S>,
    key: string,
    cost: number,
    dry: boolean,
    extra: number | string | undefined,
  ): Decision {
    const now = this.#systemTime ? batchNow() : this.clock.now();
    if (now > table.lastNow) table.lastNow = now;
    const state = dry ? (table.map.get(key) ?? alg.createState()) : table.obtain(key, alg);
    return alg.step(state, now, cost, dry, extra);
  }

  readonly #fastReply = (reply: unknown): Decision => this.alg.fromReply(reply, 1, false);

  async #fastFailed(first: unknown, key: string): Promise<Decision> {
    const script = this.alg.script;
    try {
      return this.alg.fromReply(
        await this.redis!.retry(first, script, this.fullKey(key), '1'),
        1,
        false,
      );
    } catch (error) {
      if (isCallerError(error)) throw error;
      this.#guard.failed(key, error, 'store');
      return this.#fallback(key, 1, false, undefined, undefined);
    }
  }

  async #remote(
    key: string,
    cost: number,
    dry: boolean,
    extra: number | string | undefined,
    ctx: DecideContext | undefined,
  ): Promise<Decision> {
    const route: StoreRoute = this.#guard.route();
    if (route === 'fallback') return this.#fallback(key, cost, dry, extra, ctx);
    const alg = this.alg;
    const redis = this.redis!;
    const fullKey = this.fullKey(key);
    const costArg = dry ? `-${cost}` : cost === 1 ? '1' : String(cost);
    const extraArg =
      extra === undefined ? undefined : typeof extra === 'number' ? formatExtra(extra) : extra;
    let reply: unknown;
    try {
      reply = await redis.run(alg.script, fullKey, costArg, extraArg);
    } catch (first) {
      try {
        reply = await redis.retry(first, alg.script, fullKey, costArg, extraArg);
      } catch (error) {
        if (isCallerError(error)) {
          this.#guard.abandoned(route);
          throw error;
        }
        this.#guard.failed(key, error, route);
        return this.#fallback(key, cost, dry, extra, ctx);
      }
    }
    this.#guard.succeeded(route);
    const result = alg.fromReply(reply, cost, dry);
    if (ctx !== undefined) {
      ctx.source = 'store';
      ctx.table = undefined;
    }
    if (!dry && this.events.hasDecisionListeners) this.#emitDecision(key, cost, result, 'store');
    return result;
  }

  #fallback(
    key: string,
    cost: number,
    dry: boolean,
    extra: number | string | undefined,
    ctx: DecideContext | undefined,
  ): Decision {
    const limit = this.alg.limit;
    let result: Decision;
    let table: MemoryTable | undefined;
    const mode = this.#guard.mode;
    if (mode === 'allow') {
      result = decision(true, limit, Math.max(0, Math.floor(limit - cost)), 0, 0, 0);
    } else {
      const retry = this.#guard.retryAfterMs();
      result = decision(false, limit, 0, retry, retry, 0);
      if (mode === 'local') {
        const local = this.#localLimiter();
        if (cost <= local.alg.maxCost) {
          result = this.#inMemory(local.table, local.alg, key, cost, dry, extra);
          table = local.table;
        }
      }
    }
    if (ctx !== undefined) {
      ctx.source = 'fallback';
      ctx.table = table;
    }
    if (!dry && this.events.hasDecisionListeners) this.#emitDecision(key, cost, result, 'fallback');
    return result;
  }

  #localLimiter(): { alg: Algorithm<S>; table: MemoryTable<S> } {
    if (this.#local === undefined) {
      const alg = this.alg.scaled(this.#instances);
      const store = memoryStore();
      this.#local = { alg, store, table: store.table<S>(this.name, alg.id) };
    }
    return this.#local;
  }

  #emitDecision(key: string, cost: number, result: Decision, source: DecisionSource): void {
    this.events.emit('decision', { key, cost, decision: result, source });
  }
}

const formatExtra = (value: number) =>
  Number.isFinite(value) ? String(Math.floor(value)) : String(Number.MAX_SAFE_INTEGER);

/**
 * Errors that are not store outages: a closed store (a programming error) and a command
 * the server refused (a bad argument or script error). Falling back would hide them, and
 * counting them as an outage would deny every key for `storeRetryMs`.
 */
function isCallerError(error: unknown): boolean {
  return error instanceof StoreClosedError || isGirderError(error, 'REDIS_COMMAND_ERROR');
}
