import {
  type AsyncMethodKeys,
  decorate,
  InvalidArgumentError,
  InvalidOptionsError,
  sleep,
} from '../core/index.js';
import { RateLimitedError } from './errors.js';
import type { Decision, RateLimiter } from './types.js';

/** Options of {@link rateLimited}. */
export interface RateLimitedOptions<T> {
  /** The limiter every intercepted call goes through. */
  limiter: RateLimiter;
  /**
   * The key to limit by: a constant (one quota for the whole target) or a function of
   * the method name and arguments (e.g. per phone number).
   */
  key: string | ((method: string, args: readonly unknown[]) => string);
  /** Cost of a call: a constant or a function of method and arguments. Default 1. */
  cost?: number | ((method: string, args: readonly unknown[]) => number);
  /** Methods to limit. Default: every method (see `decorate`). */
  methods?: readonly AsyncMethodKeys<T>[];
  /**
   * Wait for the limiter instead of failing at once: `true` waits as long as needed,
   * `{ maxWaitMs }` at most that long. Default `false` (throw `RateLimitedError`).
   */
  wait?: boolean | WaitLimit;
}

/** A bound on how long {@link rateLimited} waits for the limiter. */
export interface WaitLimit {
  /** Longest wait, ms; beyond it the call throws `RateLimitedError`. */
  maxWaitMs: number;
}

const hasRelease = (d: Decision): d is Decision & { release(): Promise<void> } =>
  typeof (d as { release?: unknown }).release === 'function';

/**
 * Wrap every async method of `target` with a rate limiter and get the same interface
 * back. A denied call throws {@link RateLimitedError} (code `RATE_LIMITED`, carrying
 * the decision) and never reaches the target. Pacing limiters (`leakyBucket`) delay
 * the call until its turn; concurrency limiters hold a slot for the call's duration.
 *
 * @throws InvalidOptionsError when `limiter` or `key` is missing or of the wrong type.
 *
 * @example
 * ```ts
 * import { rateLimited, slidingWindowLog } from 'girder/ratelimit';
 *
 * interface Sms { send(phone: string, text: string): Promise<void> }
 * declare const provider: Sms;
 *
 * // The provider allows 100 messages a minute for the whole account...
 * const account: Sms = rateLimited(provider, {
 *   limiter: slidingWindowLog({ limit: 100, windowMs: 60_000 }),
 *   key: 'sms-account',
 * });
 * // ...and we allow 1 per phone number per minute on top of it.
 * const sms: Sms = rateLimited(account, {
 *   limiter: slidingWindowLog({ limit: 1, windowMs: 60_000 }),
 *   key: (_method, [phone]) => `phone:${String(phone)}`,
 * });
 * ```
 */
export function rateLimited<T extends object>(target: T, options: RateLimitedOptions<T>): T {
  const {
    limiter,
    key,
    cost = 1,
    methods,
    wait = false,
  } = options ?? ({} as RateLimitedOptions<T>);
  const issues: { path: string; message: string }[] = [];
  if (typeof limiter !== 'object' || limiter === null || typeof limiter.limit !== 'function') {
    issues.push({ path: 'limiter', message: 'must be a rate limiter' });
  }
  if (!(typeof key === 'function' || (typeof key === 'string' && key.length > 0))) {
    issues.push({ path: 'key', message: 'must be a non-empty string or a function' });
  }
  if (!(typeof cost === 'function' || (typeof cost === 'number' && cost > 0))) {
    issues.push({ path: 'cost', message: 'must be a number > 0 or a function' });
  }
  if (typeof wait === 'object' && !(wait !== null && wait.maxWaitMs >= 0)) {
    issues.push({ path: 'wait.maxWaitMs', message: 'must be a number >= 0' });
  }
  if (issues.length > 0) throw new InvalidOptionsError('rateLimited', issues);

  const waitOptions =
    wait === false ? undefined : wait === true ? {} : { maxWaitMs: wait.maxWaitMs };
  return decorate(
    target,
    async (call, next) => {
      const k = typeof key === 'string' ? key : key(call.method, call.args);
      if (typeof k !== 'string' || k.length === 0) {
        throw new InvalidArgumentError('key', `the key function returned ${JSON.stringify(k)}`);
      }
      const c = typeof cost === 'number' ? cost : cost(call.method, call.args);
      const decision =
        waitOptions === undefined
          ? await limiter.limit(k, { cost: c })
          : await limiter.wait(k, { ...waitOptions, cost: c });
      if (!decision.allowed) throw new RateLimitedError(k, decision);
      // `wait` already slept through a pacing delay; `limit` leaves it to us.
      if (waitOptions === undefined && decision.delayMs > 0) {
        await sleep(decision.delayMs, { clock: limiter.clock });
      }
      if (!hasRelease(decision)) return next();
      try {
        return await next();
      } finally {
        await decision.release();
      }
    },
    methods === undefined ? {} : { methods },
  );
}
