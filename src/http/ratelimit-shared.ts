// Internal: what the Fastify plugin and the Node middleware share — option validation,
// key resolution, the allow-list and the IETF RateLimit headers.
import { z } from 'zod';
import { InvalidArgumentError, parseOptions, sleep } from '../core/index.js';
import type { Decision, RateLimiter } from '../ratelimit/index.js';

/** How to key requests: built-in strategies or your own function. */
export type RateLimitKey<Req> =
  | 'ip'
  | 'user'
  | 'route'
  | ((request: Req) => string | Promise<string>);

/** Options shared by {@link rateLimitPlugin} and {@link rateLimitMiddleware}. */
export interface HttpRateLimitOptions<Req> {
  /** The limiter requests go through (any girder/ratelimit algorithm and store). */
  limiter: RateLimiter;
  /**
   * What a quota belongs to: `ip` (the client address; default), `user` (the
   * authenticated subject — `request.auth.sub` from girder's auth, or `request.user.sub`
   * / `.id` — falling back to the IP for anonymous requests), `route` (one quota per
   * route for everyone), or a function returning the key.
   */
  key?: RateLimitKey<Req>;
  /** Cost of a request: a number or a function of the request. Default 1. */
  cost?: number | ((request: Req) => number);
  /**
   * Requests never limited: a list matched against the client IP and the computed key,
   * or a predicate.
   */
  allowList?: readonly string[] | ((request: Req, key: string) => boolean | Promise<boolean>);
  /**
   * Send `RateLimit-Policy` and `RateLimit` headers (draft-ietf-httpapi-ratelimit-headers)
   * on limited responses, allowed or not. Default true. `Retry-After` is always sent
   * with a 429.
   */
  headers?: boolean;
  /** Policy name in the headers (a structured-field string). Default `default`. */
  policyName?: string;
  /** Body of a 429 response. Default `{ statusCode, error, code: 'RATE_LIMITED', message, retryAfterMs }`. */
  errorBody?: (decision: Decision, request: Req) => unknown;
}

const fn = (v: unknown) => typeof v === 'function';
const isLimiter = (v: unknown) =>
  typeof v === 'object' && v !== null && fn((v as RateLimiter).limit) && 'policy' in v;

/** zod fields of {@link HttpRateLimitOptions}; each adapter adds its own. */
export const httpFields = {
  limiter: z.custom<RateLimiter>(isLimiter, { message: 'must be a girder rate limiter' }),
  key: z
    .union([
      z.enum(['ip', 'user', 'route']),
      z.custom<(r: unknown) => string>(fn, { message: 'must be ip, user, route or a function' }),
    ])
    .default('ip'),
  cost: z
    .union([
      z.number().positive().finite(),
      z.custom<(r: unknown) => number>(fn, { message: 'must be a number > 0 or a function' }),
    ])
    .default(1),
  allowList: z
    .union([z.array(z.string().min(1)), z.custom<(r: unknown, k: string) => boolean>(fn)])
    .optional(),
  headers: z.boolean().default(true),
  policyName: z
    .string()
    .regex(/^[\x20-\x21\x23-\x5b\x5d-\x7e]+$/, 'must be printable ASCII without " or \\')
    .default('default'),
  errorBody: z.custom<(d: Decision, r: unknown) => unknown>(fn).optional(),
};

/**
 * Refuse, at declaration, a constant `cost` the limiter could never allow: above its
 * quota, or fractional for an algorithm that counts whole units. Without this check
 * every request of the route would fail with `INVALID_ARGUMENT` (a 500).
 * @internal
 */
export function checkCostFitsLimiter(
  options: { limiter?: RateLimiter | undefined; cost?: unknown },
  ctx: z.RefinementCtx,
): void {
  const { limiter, cost } = options;
  if (limiter === undefined || typeof cost !== 'number') return;
  const { maxCost, integerCost } = limiter.policy;
  if (integerCost === true && !Number.isInteger(cost)) {
    ctx.addIssue({
      code: 'custom',
      path: ['cost'],
      message: `must be a whole number for a ${limiter.algorithm} limiter`,
    });
  }
  if (maxCost !== undefined && cost > maxCost) {
    ctx.addIssue({
      code: 'custom',
      path: ['cost'],
      message: `${cost} exceeds the limiter's quota of ${maxCost}, so no request could pass`,
    });
  }
}

/** What an adapter knows about one request. */
export interface RequestFacts<Req> {
  readonly request: Req;
  readonly ip: string;
  readonly method: string;
  /** Route pattern when known (Fastify), else the path. */
  readonly route: string;
  /** Authenticated subject, if any. */
  readonly user: string | undefined;
}

/** Parsed options with defaults. @internal */
export interface ResolvedHttpOptions<Req> {
  limiter: RateLimiter;
  key: RateLimitKey<Req>;
  cost: number | ((request: Req) => number);
  allowList?: readonly string[] | ((request: Req, key: string) => boolean | Promise<boolean>);
  headers: boolean;
  policyName: string;
  errorBody?: (decision: Decision, request: Req) => unknown;
}

/** Validate adapter options. @internal */
export function resolveOptions<Req>(
  subject: string,
  schema: z.ZodType,
  options: unknown,
): ResolvedHttpOptions<Req> {
  return parseOptions(subject, schema, options) as ResolvedHttpOptions<Req>;
}

/** The authenticated subject of a request, from girder auth or a `user` property. */
export function userOf(request: object): string | undefined {
  const auth = (request as { auth?: { sub?: unknown } | null }).auth;
  if (auth && (typeof auth.sub === 'string' || typeof auth.sub === 'number'))
    return String(auth.sub);
  const user = (request as { user?: { sub?: unknown; id?: unknown } | null }).user;
  if (user && typeof user === 'object') {
    const id = user.sub ?? user.id;
    if (typeof id === 'string' || typeof id === 'number') return String(id);
  }
  return undefined;
}

/** The key of a request, or throws `InvalidArgumentError` when a key function returns junk. */
export async function keyOf<Req>(
  key: RateLimitKey<Req>,
  facts: RequestFacts<Req>,
): Promise<string> {
  switch (key) {
    case 'ip':
      return `ip:${facts.ip}`;
    case 'user':
      return facts.user === undefined ? `ip:${facts.ip}` : `user:${facts.user}`;
    case 'route':
      return `route:${facts.method} ${facts.route}`;
    default: {
      const value = await key(facts.request);
      if (typeof value !== 'string' || value.length === 0) {
        throw new InvalidArgumentError('key', `the key function returned ${JSON.stringify(value)}`);
      }
      return value;
    }
  }
}

/** Outcome of running a request through the limiter. @internal */
export interface Verdict {
  /** Undefined when the request is allow-listed. */
  readonly decision: Decision | undefined;
  readonly key: string;
}

/** Run one request through the limiter (honouring the allow-list and pacing delays). */
export async function judge<Req>(
  options: ResolvedHttpOptions<Req>,
  facts: RequestFacts<Req>,
  keyPrefix = '',
): Promise<Verdict> {
  const bare = await keyOf(options.key, facts);
  const key = keyPrefix + bare;
  const { allowList } = options;
  if (allowList !== undefined) {
    const listed =
      typeof allowList === 'function'
        ? await allowList(facts.request, bare)
        : allowList.includes(facts.ip) || allowList.includes(bare);
    if (listed) return { decision: undefined, key };
  }
  const cost = typeof options.cost === 'number' ? options.cost : options.cost(facts.request);
  const decision = await options.limiter.limit(key, { cost });
  if (decision.allowed && decision.delayMs > 0) {
    await sleep(decision.delayMs, { clock: options.limiter.clock });
  }
  return { decision, key };
}

const seconds = (ms: number) => Math.ceil(ms / 1000);

/**
 * The `RateLimit-Policy` and `RateLimit` header values (structured fields, as in
 * draft-ietf-httpapi-ratelimit-headers), e.g. `"default";q=100;w=60` and
 * `"default";r=42;t=17`. `w` is omitted for limiters without a time window.
 *
 * @example
 * ```ts
 * import { rateLimitHeaders } from 'girder/http';
 *
 * const decision = await limiter.limit(key);
 * for (const [name, value] of Object.entries(rateLimitHeaders(limiter, decision))) {
 *   res.setHeader(name, value);
 * }
 * ```
 */
export function rateLimitHeaders(
  limiter: RateLimiter,
  decision: Decision,
  policyName = 'default',
): RateLimitHeaderValues {
  const { quota, windowMs } = limiter.policy;
  const window = windowMs === undefined ? '' : `;w=${Math.max(1, seconds(windowMs))}`;
  return {
    'RateLimit-Policy': `"${policyName}";q=${Math.floor(quota)}${window}`,
    RateLimit: `"${policyName}";r=${decision.remaining};t=${seconds(decision.resetAfterMs)}`,
  };
}

/** The IETF rate-limit headers {@link rateLimitHeaders} computes. */
export type RateLimitHeaderValues = {
  /** The quota policy, e.g. `"default";q=100;w=60`. */
  'RateLimit-Policy': string;
  /** The current state, e.g. `"default";r=42;t=17`. */
  RateLimit: string;
};

/** Seconds for `Retry-After` (at least 1). @internal */
export function retryAfterSeconds(decision: Decision): string {
  return String(Math.max(1, seconds(decision.retryAfterMs)));
}

/** The default 429 body. @internal */
export function defaultErrorBody(decision: Decision) {
  return {
    statusCode: 429,
    error: 'Too Many Requests',
    code: 'RATE_LIMITED',
    message: `rate limit exceeded, retry in ${seconds(decision.retryAfterMs) || 1} s`,
    retryAfterMs: decision.retryAfterMs,
  };
}

/** The release handle of a concurrency decision, if any. @internal */
export function releaseOf(decision: Decision | undefined): (() => Promise<void>) | undefined {
  const release = (decision as { release?: () => Promise<void> } | undefined)?.release;
  return typeof release === 'function' ? release : undefined;
}
