import { z } from 'zod';
import { parseOptions } from '../core/index.js';
import {
  type Algorithm,
  algorithmScript,
  ceilMs,
  decision,
  EPS,
  int,
  LUA_AFTER,
  LUA_NOW,
  type LuaScript,
  type MemoryState,
} from './algorithm.js';
import {
  Limiter,
  type LimiterOptions,
  limiterFields,
  MAX_WINDOW_MS,
  rateSchema,
} from './limiter.js';
import type { Decision, RateLimiter } from './types.js';

/** Options of {@link leakyBucket}. */
export interface LeakyBucketOptions extends LimiterOptions {
  /** Calls (cost units) let through per second, evenly spaced (1e-6 to 1e9). */
  ratePerSec: number;
  /**
   * Longest a call may be queued for its turn, in ms (>= 0). A call whose turn is
   * further away is denied. 0 means no queueing: only calls whose turn is now pass.
   * At most 10 years.
   */
  maxQueueMs: number;
}

const schema = z.strictObject({
  ratePerSec: rateSchema,
  maxQueueMs: z.number().min(0).max(MAX_WINDOW_MS),
  ...limiterFields,
});

/** When the queue of this key drains: the next call's turn. */
interface State extends MemoryState {
  tat: number;
}

// The bucket as a queue: tat = when the queue is empty (the next call's turn). A call
// of cost c starts at max(now, tat) and moves tat by c intervals. ARGV: signed cost,
// max delay this caller accepts (optional, capped at maxQueueMs); P1 interval ms,
// P2 maxQueueMs.
// Reply: {allowed, remaining, resetMs, retryMs, delayMs}.
const BODY = `${LUA_NOW}${LUA_AFTER}local key = KEYS[1]
local interval = P1
local maxq = P2
local accept = maxq
if ARGV[2] then
  accept = tonumber(ARGV[2])
  if accept > maxq then accept = maxq end
end
local tat = tonumber(redis.call('GET', key))
if tat == nil or tat < now then tat = now end
local delay = tat - now
if delay <= accept + 0.000001 then
  if dry then
    return {1, math.floor((maxq - delay) / interval + 1.000001), after(delay), 0, after(delay)}
  end
  local nt = tat + cost * interval
  local ttl = after(nt - now)
  if ttl < 1 then ttl = 1 end
  redis.call('SET', key, nt, 'PX', ttl)
  local left = math.floor((maxq - (nt - now)) / interval + 1.000001)
  if left < 0 then left = 0 end
  return {1, left, after(nt - now), 0, after(delay)}
end
local retry = after(delay - accept)
if retry < 1 then retry = 1 end
return {0, 0, after(delay), retry, 0}
`;

class LeakyBucket implements Algorithm<State> {
  readonly id = 'leaky-bucket';
  readonly code = 'lb';
  readonly script: LuaScript;
  readonly integerCost = false;
  readonly signature: string;
  readonly policy;
  readonly limit: number;
  readonly maxCost: number;
  readonly #interval: number;

  constructor(
    readonly ratePerSec: number,
    readonly maxQueueMs: number,
  ) {
    this.#interval = 1000 / ratePerSec;
    // One call runs now and the queue holds maxQueueMs worth of turns.
    this.limit = Math.floor(maxQueueMs / this.#interval + EPS) + 1;
    // A call may take at most the whole queue: one turn now plus maxQueueMs of turns.
    // Anything larger could never be paced within maxQueueMs, and a huge cost would
    // push the key's turn out of float range (1e308 blocked the key for good).
    this.maxCost = this.limit;
    this.signature = `${ratePerSec}:${maxQueueMs}`;
    this.policy = { quota: this.limit, windowMs: this.limit * this.#interval };
    this.script = algorithmScript(String(this.#interval), String(maxQueueMs), BODY);
  }

  createState(): State {
    return { expiresAt: 0, tat: 0 };
  }

  step(state: State, now: number, cost: number, dry: boolean, extra: unknown): Decision {
    const interval = this.#interval;
    const maxq = this.maxQueueMs;
    const accept = typeof extra === 'number' && extra < maxq ? extra : maxq;
    const tat = Math.max(state.tat, now);
    const delay = tat - now;
    if (delay <= accept + EPS) {
      if (dry) {
        return decision(
          true,
          this.limit,
          Math.floor((maxq - delay) / interval + 1 + EPS),
          ceilMs(delay),
          0,
          ceilMs(delay),
        );
      }
      const next = tat + cost * interval;
      state.tat = next;
      state.expiresAt = next;
      const left = Math.floor((maxq - (next - now)) / interval + 1 + EPS);
      return decision(true, this.limit, Math.max(left, 0), ceilMs(next - now), 0, ceilMs(delay));
    }
    const retry = ceilMs(delay - accept);
    return decision(false, this.limit, 0, ceilMs(delay), Math.max(retry, 1), 0);
  }

  fromReply(reply: unknown): Decision {
    return decision(
      int(reply, 0) === 1,
      this.limit,
      int(reply, 1),
      int(reply, 2),
      int(reply, 3),
      int(reply, 4),
    );
  }

  scaled(instances: number): LeakyBucket {
    return new LeakyBucket(this.ratePerSec / instances, this.maxQueueMs);
  }
}

/** A limiter that paces calls: allowed decisions carry the `delayMs` until their turn. */
export interface LeakyBucketLimiter extends RateLimiter {
  /**
   * Reserve a turn and tell when it is: `allowed` with `delayMs` (0 when the queue is
   * empty). The turn is taken whether or not the caller waits for it; use `wait` to
   * reserve and sleep in one step.
   */
  limit: RateLimiter['limit'];
}

/**
 * Leaky bucket as a queue (pacing): calls leave at a steady `ratePerSec`, evenly spaced,
 * never in bursts. Each allowed decision says how long to wait for its turn
 * (`delayMs`); a call whose turn is more than `maxQueueMs` away is denied. `wait()`
 * reserves a turn and sleeps until it. Ideal in front of a third-party API with a strict
 * per-second limit. One timestamp per key (memory and Redis).
 *
 * @throws InvalidOptionsError for `ratePerSec <= 0`, `maxQueueMs < 0` or unknown options.
 *
 * @example
 * ```ts
 * import { leakyBucket } from 'girder/ratelimit';
 *
 * // The SMS gateway accepts 10 requests per second; queue up to 5 s of them.
 * const pace = leakyBucket({ ratePerSec: 10, maxQueueMs: 5_000 });
 * await pace.wait('sms-gateway'); // resolves at this call's turn
 * await gateway.send(message);
 * ```
 */
export function leakyBucket(options: LeakyBucketOptions): LeakyBucketLimiter {
  const { ratePerSec, maxQueueMs, ...rest } = parseOptions('leakyBucket', schema, options);
  return new PacingLimiter(new LeakyBucket(ratePerSec, maxQueueMs), rest);
}

/** `wait` tells the algorithm how long this caller will wait, so it never over-reserves. */
class PacingLimiter extends Limiter<State> implements LeakyBucketLimiter {
  protected override waitStep(key: string, cost: number, maxWaitMs: number): Promise<Decision> {
    return this.decide(key, cost, false, maxWaitMs, undefined);
  }

  // The queue drains exactly as fast as the caller's patience runs out, so waiting only
  // helps when the whole queue (resetAfterMs) fits in what is left of it.
  protected override hopeless(denied: Decision, leftMs: number): boolean {
    return denied.resetAfterMs > leftMs;
  }
}
