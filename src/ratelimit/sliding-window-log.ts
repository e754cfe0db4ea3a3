import { parseOptions } from '../core/index.js';
import { ceilMs, decision, LUA_AFTER, LUA_NOW, type MemoryState } from './algorithm.js';
import { Limiter } from './limiter.js';
import type { Decision, RateLimiter } from './types.js';
import { WindowAlgorithm, type WindowLimitOptions, windowLimitSchema } from './window.js';

/** Options of {@link slidingWindowLog}: `limit` units in any span of `windowMs`. */
export interface SlidingWindowLogOptions extends WindowLimitOptions {}

/** A ring buffer of admission times, oldest first; grows up to `limit` entries. */
interface State extends MemoryState {
  times: number[];
  head: number;
  size: number;
}

// A sorted set of admissions scored by server time. Members are unique: TIME plus the
// unit index, with a suffix loop for the (practically impossible) same-microsecond case.
// ARGV: signed cost (negative: peek); P1 limit, P2 windowMs. Reply: {allowed, remaining, resetMs, retryMs}.
const BODY = `${LUA_NOW}${LUA_AFTER}local key = KEYS[1]
local limit = P1
local w = P2
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - w)
local n = redis.call('ZCARD', key)
if n + cost <= limit then
  if dry then
    local reset = 0
    if n > 0 then
      local last = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
      reset = after(tonumber(last[2]) + w - now)
    end
    return {1, limit - n, reset, 0}
  end
  local base = t[1] .. '.' .. t[2] .. ':'
  for i = 1, cost do
    local member = base .. i
    while redis.call('ZADD', key, now, member) == 0 do member = member .. '+' end
  end
  redis.call('PEXPIRE', key, w)
  return {1, limit - n - cost, w, 0}
end
local idx = n + cost - limit - 1
local due = redis.call('ZRANGE', key, idx, idx, 'WITHSCORES')
local last = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
return {0, limit - n, after(tonumber(last[2]) + w - now), after(tonumber(due[2]) + w - now)}
`;

class SlidingWindowLog extends WindowAlgorithm<State> {
  readonly id = 'sliding-window-log';
  readonly code = 'swl';

  constructor(limit: number, windowMs: number) {
    super(limit, windowMs, BODY);
  }

  createState(): State {
    return {
      expiresAt: 0,
      times: new Array<number>(Math.min(this.limit, 8)).fill(0),
      head: 0,
      size: 0,
    };
  }

  step(state: State, at: number, cost: number, dry: boolean): Decision {
    const { limit, windowMs } = this;
    const times = state.times;
    const cap = times.length;
    let { head, size } = state;
    let now = at;
    let newest = 0;
    if (size > 0) {
      newest = times[(head + size - 1) % cap]!;
      if (now < newest) now = newest; // a clock stepping back must not reorder the log
    }
    const cutoff = now - windowMs;
    while (size > 0 && times[head]! <= cutoff) {
      head = head + 1 === cap ? 0 : head + 1;
      size--;
    }
    state.head = head;
    state.size = size;
    if (size + cost <= limit) {
      if (dry)
        return decision(
          true,
          limit,
          limit - size,
          size > 0 ? ceilMs(newest + windowMs - now) : 0,
          0,
          0,
        );
      this.#push(state, now, cost);
      state.expiresAt = now + windowMs;
      return decision(true, limit, limit - size - cost, windowMs, 0, 0);
    }
    const due = times[(head + size + cost - limit - 1) % cap]!;
    const reset = ceilMs(newest + windowMs - now);
    return decision(false, limit, limit - size, reset, ceilMs(due + windowMs - now), 0);
  }

  #push(state: State, now: number, cost: number): void {
    let times = state.times;
    const size = state.size;
    if (size + cost > times.length) {
      // Grow (at most to limit), unrolling the ring so the oldest entry is at index 0.
      const grown = new Array<number>(
        Math.min(this.limit, Math.max(times.length * 2, size + cost)),
      ).fill(0);
      for (let i = 0; i < size; i++) grown[i] = times[(state.head + i) % times.length]!;
      state.times = times = grown;
      state.head = 0;
    }
    const cap = times.length;
    let index = (state.head + size) % cap;
    for (let i = 0; i < cost; i++) {
      times[index] = now;
      index = index + 1 === cap ? 0 : index + 1;
    }
    state.size = size + cost;
  }

  protected withLimit(limit: number): SlidingWindowLog {
    return new SlidingWindowLog(limit, this.windowMs);
  }
}

/**
 * Sliding window log: at most `limit` units in *any* span of `windowMs`, exactly. Keeps
 * one timestamp per admitted unit (a Redis sorted set), so memory grows with `limit`:
 * the right choice when exactness matters and limits are modest (logins, SMS codes,
 * paid third-party API calls).
 *
 * @throws InvalidOptionsError for `limit < 1`, `windowMs < 1` or unknown options.
 *
 * @example
 * ```ts
 * import { slidingWindowLog } from 'girder/ratelimit';
 *
 * // At most 5 SMS codes per phone number in any 10 minutes.
 * const codes = slidingWindowLog({ limit: 5, windowMs: 10 * 60_000 });
 * if (!(await codes.limit(`sms:${phone}`)).allowed) throw new Error('too many codes');
 * ```
 */
export function slidingWindowLog(options: SlidingWindowLogOptions): RateLimiter {
  const { limit, windowMs, ...rest } = parseOptions('slidingWindowLog', windowLimitSchema, options);
  return new Limiter(new SlidingWindowLog(limit, windowMs), rest);
}
