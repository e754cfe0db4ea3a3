import { z } from 'zod';
import {
  type AsyncMethodKeys,
  decorate,
  defaultSignalOf,
  functionSchema,
  InvalidArgumentError,
  InvalidOptionsError,
  type MethodCall,
  parseOptions,
  type SignalOf,
  sleep,
} from '../core/index.js';
import { RateLimitedError } from './errors.js';
import type { Decision, RateLimiter } from './types.js';

/** Options of {@link withRateLimit}. */
export interface WithRateLimitOptions<T> {
  /**
   * The key to limit by: a constant (one quota for the whole target) or a function of
   * the method name and arguments (e.g. per phone number).
   */
  key: string | ((method: string, args: readonly unknown[]) => string);
  /**
   * Cost of a call: a constant or a function of method and arguments. Default 1. A
   * constant is checked against the limiter's quota here, so a cost that could never be
   * allowed fails at wiring time instead of on every call.
   */
  cost?: number | ((method: string, args: readonly unknown[]) => number);
  /** Methods to limit. Default: every method (see core `decorate`). */
  methods?: readonly AsyncMethodKeys<T>[];
  /**
   * Wait for the limiter instead of failing at once: `true` waits as long as needed
   * (until the caller's signal fires), `{ maxWaitMs }` at most that long. Default
   * `false`: throw `RateLimitedError` at once. Anything else (`0`, `'no'`) is refused.
   */
  wait?: boolean | WaitLimit;
  /**
   * Finds the caller's `AbortSignal` among a call's arguments; while waiting for the
   * limiter (or for a pacing delay) the call gives up with `AbortedError` when it
   * fires. Default core `defaultSignalOf`.
   */
  signalOf?: SignalOf;
}

/** A bound on how long {@link withRateLimit} waits for the limiter. */
export interface WaitLimit {
  /** Longest wait, ms (finite, >= 0); beyond it the call throws `RateLimitedError`. */
  maxWaitMs: number;
}

type KeyFn = (method: string, args: readonly unknown[]) => string;
type CostFn = (method: string, args: readonly unknown[]) => number;

const optionsSchema = z.strictObject({
  key: z.union([
    z.string().min(1),
    functionSchema<KeyFn>('must be a non-empty string or a function'),
  ]),
  cost: z
    .union([
      z.number().positive().finite(),
      functionSchema<CostFn>('must be a number or a function'),
    ])
    .default(1),
  methods: z.array(z.string().min(1)).optional(),
  wait: z
    .union([z.boolean(), z.strictObject({ maxWaitMs: z.number().finite().min(0) })])
    .default(false),
  signalOf: functionSchema<SignalOf>().default(() => defaultSignalOf),
});

const isLimiter = (value: unknown): value is RateLimiter =>
  typeof value === 'object' &&
  value !== null &&
  typeof (value as RateLimiter).limit === 'function' &&
  typeof (value as RateLimiter).wait === 'function';

const hasRelease = (d: Decision): d is Decision & { release(): Promise<void> } =>
  typeof (d as { release?: unknown }).release === 'function';

/**
 * Wrap every async method of `target` with a rate limiter and get the same interface
 * back (formerly `rateLimited`). A denied call throws {@link RateLimitedError} (code
 * `RATE_LIMITED`, carrying the decision) and never reaches the target. Pacing limiters
 * (`leakyBucket`) delay the call until its turn; concurrency limiters hold a slot for
 * the call's duration. The caller's `AbortSignal` (found by `signalOf`) cancels any
 * waiting with `AbortedError`.
 *
 * @throws InvalidArgumentError when `limiter` is not a rate limiter.
 * @throws InvalidOptionsError for a missing or bad `key`, a bad `cost` (including a
 * constant above the limiter's quota), a `wait` that is neither a boolean nor
 * `{ maxWaitMs }`, or an unknown option.
 *
 * @example
 * ```ts
 * import { slidingWindowLog, withRateLimit } from 'girder/ratelimit';
 *
 * interface Sms { send(phone: string, text: string): Promise<void> }
 * declare const provider: Sms;
 *
 * // The provider allows 100 messages a minute for the whole account...
 * const account: Sms = withRateLimit(provider, slidingWindowLog({ limit: 100, windowMs: 60_000 }), {
 *   key: 'sms-account',
 *   wait: { maxWaitMs: 5_000 },
 * });
 * // ...and we allow 1 per phone number per minute on top of it.
 * const sms: Sms = withRateLimit(account, slidingWindowLog({ limit: 1, windowMs: 60_000 }), {
 *   key: (_method, [phone]) => `phone:${String(phone)}`,
 * });
 * ```
 */
export function withRateLimit<T extends object>(
  target: T,
  limiter: RateLimiter,
  options: WithRateLimitOptions<T>,
): T {
  if (!isLimiter(limiter)) {
    throw new InvalidArgumentError('limiter', 'must be a rate limiter from girder/ratelimit');
  }
  const o = parseOptions('withRateLimit', optionsSchema, options);
  if (typeof o.cost === 'number') checkCost(limiter, o.cost);
  const { key, cost, signalOf } = o;
  const waitOptions =
    o.wait === false ? undefined : o.wait === true ? {} : { maxWaitMs: o.wait.maxWaitMs };
  const clock = limiter.clock;
  return decorate(
    target,
    async (call: MethodCall<T>, next) => {
      const k = typeof key === 'string' ? key : key(call.method, call.args);
      if (typeof k !== 'string' || k.length === 0) {
        throw new InvalidArgumentError('key', `the key function returned ${JSON.stringify(k)}`);
      }
      const c = typeof cost === 'number' ? cost : cost(call.method, call.args);
      const signal = signalOf(call.args, call.method);
      const decision =
        waitOptions === undefined
          ? await limiter.limit(k, c === 1 ? undefined : { cost: c })
          : await limiter.wait(k, { ...waitOptions, cost: c, ...(signal ? { signal } : {}) });
      if (!decision.allowed) throw new RateLimitedError(k, decision);
      // `wait` already slept through a pacing delay; `limit` leaves it to us.
      if (waitOptions === undefined && decision.delayMs > 0) {
        await sleep(decision.delayMs, { clock, signal });
      }
      if (!hasRelease(decision)) return next();
      try {
        return await next();
      } finally {
        await decision.release();
      }
    },
    o.methods === undefined
      ? {}
      : { methods: o.methods as unknown as readonly AsyncMethodKeys<T>[] },
  );
}

function checkCost(limiter: RateLimiter, cost: number): void {
  const { maxCost, integerCost } = limiter.policy;
  const issues: { path: string; message: string }[] = [];
  if (integerCost === true && !Number.isInteger(cost)) {
    issues.push({ path: 'cost', message: `must be a whole number for ${limiter.algorithm}` });
  }
  if (maxCost !== undefined && cost > maxCost) {
    issues.push({
      path: 'cost',
      message: `${cost} exceeds the limiter's quota of ${maxCost}, so no call could be allowed`,
    });
  }
  if (issues.length > 0) throw new InvalidOptionsError('withRateLimit', issues);
}

/** Options of the deprecated {@link rateLimited}: {@link WithRateLimitOptions} plus `limiter`. */
export interface RateLimitedOptions<T> extends WithRateLimitOptions<T> {
  /** The limiter every intercepted call goes through. */
  limiter: RateLimiter;
}

/**
 * The former name of {@link withRateLimit}, with the limiter inside the options.
 *
 * @deprecated Use `withRateLimit(target, limiter, { key })`.
 * @example
 * ```ts
 * // before
 * const sms = rateLimited(provider, { limiter, key: 'sms' });
 * // after
 * const sms2 = withRateLimit(provider, limiter, { key: 'sms' });
 * ```
 */
export function rateLimited<T extends object>(target: T, options: RateLimitedOptions<T>): T {
  if (options === null || typeof options !== 'object') {
    throw new InvalidArgumentError('options', 'must be an object');
  }
  const { limiter, ...rest } = options;
  return withRateLimit(target, limiter, rest);
}
