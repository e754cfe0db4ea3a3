import { parseOptions } from '../core/index.js';
import {
  type Algorithm,
  algorithmScript,
  decision,
  int,
  type LuaScript,
  type MemoryState,
} from './algorithm.js';
import { Limiter } from './limiter.js';
import type { Decision, RateLimiter } from './types.js';
import { type WindowLimitOptions, windowLimitSchema } from './window.js';

/** Options of {@link fixedWindow}: `limit` units per window of `windowMs`. */
export interface FixedWindowOptions extends WindowLimitOptions {}

interface State extends MemoryState {
  start: number;
  count: number;
}

// The window of a key opens at its first call and lasts windowMs; Redis' own key expiry
// (server clock) closes it, so no TIME call is needed. INCRBY first (one write on the
// common path); a denied call gives its cost back when smaller calls could still fit.
// P1 limit, P2 windowMs. The reply is ONE integer, so no array is built per decision:
// ttl * (limit + 1) + used, negated minus one when denied (see FixedWindow.fromReply).
// Configurations where that could exceed 2^53 get an array reply {allowed, used, ttl}.
const body = (packed: boolean) => {
  const reply = (allowed: boolean, used: string, ttl: string) =>
    packed
      ? allowed
        ? `return ${ttl} * (P1 + 1) + ${used}`
        : `return -(${ttl} * (P1 + 1) + ${used}) - 1`
      : `return {${allowed ? 1 : 0}, ${used}, ${ttl}}`;
  return `local key = KEYS[1]
if dry then
  local used = tonumber(redis.call('GET', key) or '0')
  local ttl = redis.call('PTTL', key)
  if ttl < 0 then used = 0 ttl = 0 end
  if used > P1 then used = P1 end
  if used + cost <= P1 then ${reply(true, 'used', 'ttl')} end
  ${reply(false, 'used', 'ttl')}
end
local used = redis.call('INCRBY', key, cost)
local ttl
if used == cost then
  ttl = P2
  redis.call('PEXPIRE', key, P2)
else
  ttl = redis.call('PTTL', key)
  if ttl < 0 then
    ttl = P2
    redis.call('PEXPIRE', key, P2)
  end
end
if used <= P1 then ${reply(true, 'used', 'ttl')} end
used = used - cost
if used < P1 then
  redis.call('DECRBY', key, cost)
else
  used = P1
end
${reply(false, 'used', 'ttl')}
`;
};

class FixedWindow implements Algorithm<State> {
  readonly id = 'fixed-window';
  readonly code = 'fw';
  readonly script: LuaScript;
  /** Whether the script packs its reply into one integer (`limit + 1` is the radix). */
  readonly #packed: boolean;
  readonly integerCost = true;
  readonly signature: string;
  readonly policy;
  readonly maxCost: number;

  constructor(
    readonly limit: number,
    readonly windowMs: number,
  ) {
    this.maxCost = limit;
    this.signature = `${limit}:${windowMs}`;
    this.policy = { quota: limit, windowMs };
    this.#packed = (windowMs + 1) * (limit + 1) <= Number.MAX_SAFE_INTEGER;
    this.script = algorithmScript(String(limit), String(windowMs), body(this.#packed));
  }

  createState(): State {
    return { expiresAt: 0, start: 0, count: 0 };
  }

  step(state: State, now: number, cost: number, dry: boolean): Decision {
    const limit = this.limit;
    let used = state.count;
    let end = state.start + this.windowMs;
    if (used === 0 || now >= end) {
      used = 0;
      end = now + this.windowMs;
      if (dry) {
        return decision(cost <= limit, limit, limit, 0, cost <= limit ? 0 : this.windowMs, 0);
      }
      state.start = now;
      state.count = 0;
      state.expiresAt = end;
    }
    const reset = end - now;
    if (used + cost <= limit) {
      if (dry) return decision(true, limit, limit - used, reset, 0, 0);
      state.count = used + cost;
      return decision(true, limit, limit - used - cost, reset, 0, 0);
    }
    return decision(false, limit, Math.max(limit - used, 0), reset, reset, 0);
  }

  fromReply(reply: unknown): Decision {
    let allowed: boolean;
    let used: number;
    let ttl: number;
    if (this.#packed) {
      let v = reply as number;
      allowed = v >= 0;
      if (!allowed) v = -v - 1;
      const radix = this.limit + 1;
      used = v % radix;
      ttl = (v - used) / radix;
    } else {
      allowed = int(reply, 0) === 1;
      used = int(reply, 1);
      ttl = int(reply, 2);
    }
    const left = this.limit - used;
    if (allowed) return decision(true, this.limit, left, ttl, 0, 0);
    return decision(false, this.limit, left, ttl, ttl > 0 ? ttl : this.windowMs, 0);
  }

  scaled(instances: number): FixedWindow {
    return new FixedWindow(Math.max(1, Math.floor(this.limit / instances)), this.windowMs);
  }
}

/**
 * Fixed window: at most `limit` units per key per window. A key's window opens at its
 * first call and lasts `windowMs` (on Redis, the key's expiry on the server clock ends
 * it). Exact per window and O(1) memory per key, but a client can spend `limit` at the
 * end of one window and `limit` again at the start of the next: up to 2 x `limit` in a
 * short burst. Prefer {@link slidingWindow} or {@link tokenBucket} when that matters.
 *
 * @throws InvalidOptionsError for `limit < 1`, `windowMs < 1` or unknown options.
 *
 * @example
 * ```ts
 * import { fixedWindow } from 'girder/ratelimit';
 *
 * const limiter = fixedWindow({ limit: 100, windowMs: 60_000 });
 * const { allowed, remaining, retryAfterMs } = await limiter.limit(`ip:${ip}`);
 * ```
 */
export function fixedWindow(options: FixedWindowOptions): RateLimiter {
  const { limit, windowMs, ...rest } = parseOptions('fixedWindow', windowLimitSchema, options);
  return new Limiter(new FixedWindow(limit, windowMs), rest);
}
