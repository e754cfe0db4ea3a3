import { z } from 'zod';
import { parseOptions } from '../core/index.js';
import {
  type Algorithm,
  algorithmScript,
  arrayReplyDecision,
  ceilMs,
  decision,
  EPS,
  LUA_AFTER,
  LUA_NOW,
  type LuaScript,
  type MemoryState,
} from './algorithm.js';
import {
  Limiter,
  type LimiterOptions,
  limiterFields,
  MAX_QUOTA,
  MAX_WINDOW_MS,
  rateSchema,
} from './limiter.js';
import type { Decision, RateLimiter } from './types.js';

/** Options of {@link tokenBucket}. */
export interface TokenBucketOptions extends LimiterOptions {
  /** Bucket size: the largest burst (1 to 1e12; need not be whole). A new key starts full. */
  capacity: number;
  /**
   * Tokens added per second, up to `capacity` (1e-6 to 1e9, and refilling the whole
   * capacity may take at most 10 years).
   */
  refillPerSec: number;
}

const schema = z
  .strictObject({
    capacity: z.number().min(1).max(MAX_QUOTA),
    refillPerSec: rateSchema,
    ...limiterFields,
  })
  .refine((o) => (o.capacity * 1000) / o.refillPerSec <= MAX_WINDOW_MS, {
    path: ['refillPerSec'],
    message: `too slow: refilling the whole capacity must take at most ${MAX_WINDOW_MS} ms (10 years)`,
  });

/** GCRA: the theoretical arrival time; the bucket is full whenever `tat <= now`. */
interface State extends MemoryState {
  tat: number;
}

// GCRA, the token bucket stored as one number: tat = when the bucket will be full again.
// tokens(now) = capacity - (tat - now) / interval. ARGV: signed cost; P1 interval ms per
// token, P2 capacity. Reply: {allowed, remaining, resetMs, retryMs}.
const BODY = `${LUA_NOW}${LUA_AFTER}local key = KEYS[1]
local interval = P1
local cap = P2
local tat = tonumber(redis.call('GET', key))
if tat == nil or tat < now then tat = now end
local burst = cap * interval
local nt = tat + cost * interval
if nt - now <= burst + 0.000001 then
  if dry then
    return {1, math.floor(cap - (tat - now) / interval + 0.000001), after(tat - now), 0}
  end
  local ttl = after(nt - now)
  if ttl < 1 then ttl = 1 end
  redis.call('SET', key, nt, 'PX', ttl)
  return {1, math.floor(cap - (nt - now) / interval + 0.000001), after(nt - now), 0}
end
local left = math.floor(cap - (tat - now) / interval + 0.000001)
if left < 0 then left = 0 end
local retry = after(nt - now - burst)
if retry < 1 then retry = 1 end
return {0, left, after(tat - now), retry}
`;

class TokenBucket implements Algorithm<State> {
  readonly id = 'token-bucket';
  readonly code = 'tb';
  readonly script: LuaScript;
  readonly integerCost = false;
  readonly signature: string;
  readonly policy;
  readonly limit: number;
  readonly maxCost: number;
  /** ms per token. */
  readonly #interval: number;

  constructor(
    readonly capacity: number,
    readonly refillPerSec: number,
  ) {
    this.limit = capacity;
    this.maxCost = capacity;
    this.#interval = 1000 / refillPerSec;
    this.signature = `${capacity}:${refillPerSec}`;
    this.policy = { quota: capacity, windowMs: capacity * this.#interval };
    this.script = algorithmScript(String(this.#interval), String(capacity), BODY);
  }

  createState(): State {
    return { expiresAt: 0, tat: 0 };
  }

  step(state: State, now: number, cost: number, dry: boolean): Decision {
    const interval = this.#interval;
    const cap = this.capacity;
    const tat = Math.max(state.tat, now);
    const next = tat + cost * interval;
    if (next - now <= cap * interval + EPS) {
      if (dry) {
        return decision(
          true,
          cap,
          Math.floor(cap - (tat - now) / interval + EPS),
          ceilMs(tat - now),
          0,
          0,
        );
      }
      state.tat = next;
      state.expiresAt = next;
      return decision(
        true,
        cap,
        Math.floor(cap - (next - now) / interval + EPS),
        ceilMs(next - now),
        0,
        0,
      );
    }
    const left = Math.floor(cap - (tat - now) / interval + EPS);
    const retry = ceilMs(next - now - cap * interval);
    return decision(false, cap, Math.max(left, 0), ceilMs(tat - now), Math.max(retry, 1), 0);
  }

  fromReply(reply: unknown): Decision {
    return arrayReplyDecision(reply, this.capacity);
  }

  scaled(instances: number): TokenBucket {
    return new TokenBucket(this.capacity / instances, this.refillPerSec / instances);
  }
}

/**
 * Token bucket: a key holds up to `capacity` tokens, refilled at `refillPerSec`; a call
 * takes `cost` tokens (fractional costs allowed). Allows bursts up to `capacity`, then
 * a steady `refillPerSec`. Implemented as GCRA (one timestamp per key), so it is exact
 * and O(1) in memory and in Redis.
 *
 * @throws InvalidOptionsError for non-positive `capacity`/`refillPerSec` or unknown options.
 *
 * @example
 * ```ts
 * import { tokenBucket } from 'girder/ratelimit';
 *
 * // Bursts of 20, 5 per second sustained; a bulk export costs 10 tokens.
 * const limiter = tokenBucket({ capacity: 20, refillPerSec: 5 });
 * await limiter.limit(`user:${id}`, { cost: 10 });
 * ```
 */
export function tokenBucket(options: TokenBucketOptions): RateLimiter {
  const { capacity, refillPerSec, ...rest } = parseOptions('tokenBucket', schema, options);
  return new Limiter(new TokenBucket(capacity, refillPerSec), rest);
}
