import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { AbortedError, parseOptions } from '../core/index.js';
import {
  type Algorithm,
  algorithmScript,
  ceilMs,
  decision,
  int,
  LUA_NOW,
  type LuaScript,
  lua,
  type MemoryState,
} from './algorithm.js';
import {
  type DecideContext,
  LIMIT_OPTIONS,
  Limiter,
  type LimiterOptions,
  limiterFields,
  windowSchema,
} from './limiter.js';
import type { MemoryTable } from './memory-store.js';
import type { Decision, LimitOptions, RateLimiter, WaitOptions } from './types.js';

/** Options of {@link concurrencyLimit}. */
export interface ConcurrencyLimitOptions extends LimiterOptions {
  /** Most units in flight per key at once (integer, 1 to 100 000). */
  max: number;
  /**
   * A held slot is given back automatically this many ms after it was taken, so a
   * holder that crashed (or forgot to release) cannot leak it forever. Keep it above
   * your longest legitimate hold. Default 60 000.
   */
  leaseMs?: number;
  /**
   * While `wait`/`acquire` waits for a slot held elsewhere (another process), it
   * re-checks at least this often, in ms; releases in this process wake it at once.
   * Default 50.
   */
  pollIntervalMs?: number;
}

/** Largest `max` of a concurrency limiter. */
const MAX_IN_FLIGHT = 100_000;

const schema = z.strictObject({
  // Each held unit is one sorted-set member on Redis, so keep in-flight counts modest.
  max: z.number().int().min(1).max(MAX_IN_FLIGHT),
  leaseMs: windowSchema.default(60_000),
  pollIntervalMs: z.number().int().min(1).max(3_600_000).default(50),
  ...limiterFields,
});

/**
 * A decision of a concurrency limiter. When allowed, the caller holds `cost` slots
 * until it calls `release()` (or the lease expires).
 */
export interface ConcurrencyDecision extends Decision {
  /**
   * Give the slots back. Safe to call more than once (later calls do nothing) and a
   * no-op on a denied decision. Never rejects: a store failure is reported on
   * `events` and the lease then expires on its own.
   */
  release(): Promise<void>;
}

/**
 * Limits how many calls per key are in flight at once.
 *
 * @example
 * ```ts
 * import { concurrencyLimit } from 'girder/ratelimit';
 *
 * const exports = concurrencyLimit({ max: 2 });
 * const lease = await exports.acquire(`tenant:${tenantId}`);
 * try {
 *   await runExport();
 * } finally {
 *   await lease.release();
 * }
 * ```
 */
export interface ConcurrencyLimiter extends RateLimiter<ConcurrencyDecision> {
  /**
   * Take a slot, waiting for one if needed (same options as `wait`); resolves with the
   * allowed decision, whose `release()` gives the slot back.
   */
  acquire(key: string, options?: WaitOptions): Promise<ConcurrencyDecision>;
  /** Acquire a slot, run `fn`, and release the slot however `fn` ends. */
  run<T>(key: string, fn: () => Promise<T>, options?: WaitOptions): Promise<T>;
}

interface Holding {
  cost: number;
  expiresAt: number;
}

interface State extends MemoryState {
  holders: Map<string, Holding>;
  used: number;
}

// A sorted set of holders scored by lease expiry (server time). Expired leases are
// dropped before counting, so a crashed holder's slots come back after leaseMs.
// ARGV: signed cost, holder; P1 max, P2 leaseMs. Reply: {allowed, remaining, earliestExpiryMs}.
const BODY = `${LUA_NOW}local key = KEYS[1]
local max = P1
local lease = P2
redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
local n = redis.call('ZCARD', key)
if n + cost <= max then
  if dry then return {1, max - n, 0} end
  local expires = now + lease
  if cost == 1 then
    redis.call('ZADD', key, expires, ARGV[2])
  else
    for i = 1, cost do redis.call('ZADD', key, expires, ARGV[2] .. '#' .. i) end
  end
  redis.call('PEXPIRE', key, lease)
  return {1, max - n - cost, 0}
end
local first = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
local wait = math.ceil(tonumber(first[2]) - now)
if wait < 1 then wait = 1 end
return {0, max - n, wait}
`;

// ARGV: cost, holder. Reply: slots released.
const RELEASE = lua(`local cost = tonumber(ARGV[1])
if cost == 1 then return redis.call('ZREM', KEYS[1], ARGV[2]) end
local n = 0
for i = 1, cost do n = n + redis.call('ZREM', KEYS[1], ARGV[2] .. '#' .. i) end
return n
`);

class Concurrency implements Algorithm<State> {
  readonly id = 'concurrency';
  readonly code = 'cl';
  readonly script: LuaScript;
  readonly integerCost = true;
  readonly signature: string;
  readonly policy;
  readonly maxCost: number;

  constructor(
    readonly limit: number,
    readonly leaseMs: number,
    readonly pollIntervalMs: number,
  ) {
    this.maxCost = limit;
    this.signature = `${limit}`;
    this.policy = { quota: limit, windowMs: undefined };
    this.script = algorithmScript(String(limit), String(leaseMs), BODY);
  }

  createState(): State {
    return { expiresAt: Number.NEGATIVE_INFINITY, holders: new Map(), used: 0 };
  }

  step(state: State, now: number, cost: number, dry: boolean, holder: unknown): Decision {
    const max = this.limit;
    if (state.used + cost > max) {
      for (const [id, held] of state.holders) {
        if (held.expiresAt <= now) {
          state.holders.delete(id);
          state.used -= held.cost;
        }
      }
    }
    const used = state.used;
    if (used + cost <= max) {
      if (dry) return decision(true, max, max - used, 0, 0, 0);
      const expiresAt = now + this.leaseMs;
      state.holders.set(holder as string, { cost, expiresAt });
      state.used = used + cost;
      if (expiresAt > state.expiresAt) state.expiresAt = expiresAt;
      return decision(true, max, max - used - cost, 0, 0, 0);
    }
    let earliest = Number.POSITIVE_INFINITY;
    for (const held of state.holders.values()) {
      if (held.expiresAt < earliest) earliest = held.expiresAt;
    }
    return this.#denied(max - used, Math.max(1, ceilMs(earliest - now)));
  }

  release(state: State, holder: string): void {
    const held = state.holders.get(holder);
    if (held === undefined) return;
    state.holders.delete(holder);
    state.used -= held.cost;
    if (state.used === 0) state.expiresAt = Number.NEGATIVE_INFINITY;
  }

  #denied(remaining: number, untilExpiryMs: number): Decision {
    const retry = Math.min(untilExpiryMs, this.pollIntervalMs);
    return decision(false, this.limit, Math.max(remaining, 0), untilExpiryMs, retry, 0);
  }

  fromReply(reply: unknown): Decision {
    if (int(reply, 0) === 1) return decision(true, this.limit, int(reply, 1), 0, 0, 0);
    return this.#denied(int(reply, 1), int(reply, 2));
  }

  scaled(instances: number): Concurrency {
    return new Concurrency(
      Math.max(1, Math.floor(this.limit / instances)),
      this.leaseMs,
      this.pollIntervalMs,
    );
  }
}

const released = () => Promise.resolve();

class ConcurrencyLimiterImpl extends Limiter<State> implements ConcurrencyLimiter {
  readonly #instance = randomBytes(6).toString('base64url');
  #sequence = 0;
  readonly #waiters = new Map<string, Set<() => void>>();

  override limit(key: string, options?: LimitOptions): Promise<ConcurrencyDecision> {
    let cost: number;
    try {
      cost = this.checkedCost(key, options, LIMIT_OPTIONS);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#take(key, cost);
  }

  override wait(key: string, options?: WaitOptions): Promise<ConcurrencyDecision> {
    return super.wait(key, options) as Promise<ConcurrencyDecision>;
  }

  acquire(key: string, options?: WaitOptions): Promise<ConcurrencyDecision> {
    return this.wait(key, options);
  }

  async run<T>(key: string, fn: () => Promise<T>, options?: WaitOptions): Promise<T> {
    const lease = await this.wait(key, options);
    try {
      return await fn();
    } finally {
      await lease.release();
    }
  }

  protected override waitStep(key: string, cost: number): Promise<Decision> {
    return this.#take(key, cost);
  }

  protected override pause(
    key: string,
    ms: number,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const clock = this.clock;
    if (signal?.aborted) return Promise.reject(new AbortedError(signal.reason));
    return new Promise<void>((resolve, reject) => {
      let set = this.#waiters.get(key);
      if (set === undefined) {
        set = new Set();
        this.#waiters.set(key, set);
      }
      const waiters = set;
      const cleanup = () => {
        clock.clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        waiters.delete(wake);
        if (waiters.size === 0 && this.#waiters.get(key) === waiters) this.#waiters.delete(key);
      };
      const wake = () => {
        cleanup();
        resolve();
      };
      const onAbort = () => {
        cleanup();
        reject(new AbortedError(signal?.reason));
      };
      const timer = clock.setTimeout(wake, ms);
      signal?.addEventListener('abort', onAbort, { once: true });
      waiters.add(wake);
    });
  }

  async #take(key: string, cost: number): Promise<ConcurrencyDecision> {
    const holder = `${this.#instance}:${(this.#sequence++).toString(36)}`;
    const ctx: DecideContext = { source: 'store', table: undefined };
    const result = await this.decide(key, cost, false, holder, ctx);
    if (!result.allowed) return { ...result, release: released };
    return { ...result, release: this.#releaser(key, cost, holder, ctx) };
  }

  #releaser(key: string, cost: number, holder: string, ctx: DecideContext): () => Promise<void> {
    const table = ctx.table as MemoryTable<State> | undefined;
    const remote = ctx.source === 'store' && table === undefined ? this.redis : undefined;
    let done = false;
    return async () => {
      if (done) return;
      done = true;
      if (table !== undefined) {
        const state = table.map.get(key);
        if (state !== undefined) (this.alg as Concurrency).release(state, holder);
      } else if (remote !== undefined) {
        try {
          await remote.call(RELEASE, this.fullKey(key), String(cost), holder);
        } catch (error) {
          this.events.emit('storeError', { key, error, mode: this.storeErrorMode });
        }
      }
      const waiters = this.#waiters.get(key);
      if (waiters !== undefined) for (const wake of [...waiters]) wake();
    };
  }
}

/**
 * Concurrency limit: at most `max` calls (cost units) per key in flight at once —
 * bulkheads for slow dependencies, per-tenant job slots. `limit()` takes a slot now or
 * is denied; `acquire()`/`wait()` wait for one; `run()` wraps a function. Every
 * allowed decision has a `release()` that is safe to call twice. Slots are leases: on
 * Redis a crashed process' slots come back after `leaseMs` (server clock).
 *
 * @throws InvalidOptionsError for `max < 1`, `leaseMs < 1` or unknown options.
 *
 * @example
 * ```ts
 * import { concurrencyLimit } from 'girder/ratelimit';
 *
 * const pdf = concurrencyLimit({ max: 4, leaseMs: 30_000 });
 * const file = await pdf.run('renderer', () => renderInvoice(order), { maxWaitMs: 2_000 });
 * ```
 */
export function concurrencyLimit(options: ConcurrencyLimitOptions): ConcurrencyLimiter {
  const { max, leaseMs, pollIntervalMs, ...rest } = parseOptions(
    'concurrencyLimit',
    schema,
    options,
  );
  return new ConcurrencyLimiterImpl(new Concurrency(max, leaseMs, pollIntervalMs), rest);
}
