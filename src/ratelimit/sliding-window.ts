import { parseOptions } from '../core/index.js';
import { ceilMs, decision, EPS, LUA_AFTER, LUA_NOW, type MemoryState } from './algorithm.js';
import { Limiter } from './limiter.js';
import type { Decision, RateLimiter } from './types.js';
import { WindowAlgorithm, type WindowLimitOptions, windowLimitSchema } from './window.js';

/** Options of {@link slidingWindow}: `limit` units per (estimated) sliding window. */
export interface SlidingWindowOptions extends WindowLimitOptions {}

/** Counters of the current and the previous epoch-aligned window. */
interface State extends MemoryState {
  start: number;
  current: number;
  previous: number;
}

// Hash {w: window start, c: current count, p: previous count}. Windows are aligned to
// the epoch on the server clock. ARGV: signed cost (negative: peek); P1 limit, P2 windowMs.
// Reply: {allowed, remaining, resetMs, retryMs}.
const BODY = `${LUA_NOW}${LUA_AFTER}local key = KEYS[1]
local limit = P1
local w = P2
local ms = t[1] * 1000 + math.floor(t[2] / 1000)
local ws = ms - ms % w
local v = redis.call('HMGET', key, 'w', 'c', 'p')
local sw = tonumber(v[1])
local cur = 0
local prev = 0
if sw == ws then
  cur = tonumber(v[2])
  prev = tonumber(v[3])
elseif sw == ws - w then
  prev = tonumber(v[2])
end
local weight = 1 - (now - ws) / w
local est = prev * weight + cur
if est + cost <= limit + 0.000001 then
  if not dry then
    if sw == ws then
      redis.call('HINCRBY', key, 'c', cost)
    else
      redis.call('HSET', key, 'w', ws, 'c', cost, 'p', prev)
      redis.call('PEXPIRE', key, after(ws + 2 * w - now))
    end
    cur = cur + cost
    est = est + cost
  end
  local reset = 0
  if cur > 0 then reset = after(ws + 2 * w - now) elseif prev > 0 then reset = after(ws + w - now) end
  return {1, math.floor(limit - est + 0.000001), reset, 0}
end
local retry
if cur + cost <= limit then
  retry = ws + w * (1 - (limit - cur - cost) / prev) - now
else
  local g = 1 - (limit - cost) / cur
  if g < 0 then g = 0 end
  retry = ws + w + w * g - now
end
local reset = ws + w - now
if cur > 0 then reset = ws + 2 * w - now end
local left = math.floor(limit - est + 0.000001)
if left < 0 then left = 0 end
retry = after(retry)
if retry < 1 then retry = 1 end
return {0, left, after(reset), retry}
`;

class SlidingWindow extends WindowAlgorithm<State> {
  readonly id = 'sliding-window';
  readonly code = 'sw';

  constructor(limit: number, windowMs: number) {
    super(limit, windowMs, BODY);
  }

  createState(): State {
    return { expiresAt: 0, start: Number.NEGATIVE_INFINITY, current: 0, previous: 0 };
  }

  step(state: State, now: number, cost: number, dry: boolean): Decision {
    const { limit, windowMs: w } = this;
    const ms = Math.floor(now);
    const start = ms - (ms % w);
    let cur = 0;
    let prev = 0;
    if (state.start === start) {
      cur = state.current;
      prev = state.previous;
    } else if (state.start === start - w) {
      prev = state.current;
    }
    let est = prev * (1 - (now - start) / w) + cur;
    if (est + cost <= limit + EPS) {
      if (!dry) {
        state.start = start;
        state.previous = prev;
        cur += cost;
        state.current = cur;
        state.expiresAt = start + 2 * w;
        est += cost;
      }
      const reset = cur > 0 ? ceilMs(start + 2 * w - now) : prev > 0 ? ceilMs(start + w - now) : 0;
      return decision(true, limit, Math.floor(limit - est + EPS), reset, 0, 0);
    }
    let retry: number;
    if (cur + cost <= limit) {
      // The previous window's weight has to fade further.
      retry = start + w * (1 - (limit - cur - cost) / prev) - now;
    } else {
      // Only the next window can take it, once this window's count has faded enough.
      retry = start + w + w * Math.max(0, 1 - (limit - cost) / cur) - now;
    }
    const left = Math.floor(limit - est + EPS);
    const reset = cur > 0 ? start + 2 * w - now : start + w - now;
    return decision(false, limit, Math.max(left, 0), ceilMs(reset), Math.max(1, ceilMs(retry)), 0);
  }

  protected withLimit(limit: number): SlidingWindow {
    return new SlidingWindow(limit, this.windowMs);
  }
}

/**
 * Sliding window counter (approximate): counts calls in the current and the previous
 * epoch-aligned window and estimates the sliding count as
 * `previous x (1 - elapsed / windowMs) + current`, assuming the previous window's calls
 * were spread evenly. O(1) memory per key (two counters) whatever the limit.
 *
 * Error bound: the estimate is exact for evenly spread traffic. Its worst case is when
 * the previous window's calls were bunched at its very end: then a span of `windowMs`
 * ending a fraction `f` into the current window can hold up to `limit x (1 + f)` calls
 * (always under `2 x limit`), and never more than `limit + limit x d / windowMs` within
 * `d` ms of a window boundary — unlike {@link fixedWindow}, no instant double burst.
 * If the previous window's calls were bunched at its start, it errs the other way and
 * denies calls an exact log would allow. Use {@link slidingWindowLog} when exactness
 * matters more than memory.
 *
 * @throws InvalidOptionsError for `limit < 1`, `windowMs < 1` or unknown options.
 *
 * @example
 * ```ts
 * import { slidingWindow } from 'girder/ratelimit';
 *
 * const api = slidingWindow({ limit: 1_000, windowMs: 60_000 });
 * const decision = await api.limit(`tenant:${tenantId}`);
 * ```
 */
export function slidingWindow(options: SlidingWindowOptions): RateLimiter {
  const { limit, windowMs, ...rest } = parseOptions('slidingWindow', windowLimitSchema, options);
  return new Limiter(new SlidingWindow(limit, windowMs), rest);
}
