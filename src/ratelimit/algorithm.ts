// Internal: the contract between a limiter (limiter.ts) and one algorithm file.
// Each algorithm supplies both of its atomic steps: a JS function over per-key state
// (memory store) and one Lua script (Redis store). Not exported from the package.
import { createHash } from 'node:crypto';
import type { Decision, RateLimitPolicy } from './types.js';

/** Per-key state of the memory store. `expiresAt` lets the sweeper drop idle keys. */
export interface MemoryState {
  /** Clock time after which the state is equivalent to "never seen". */
  expiresAt: number;
}

/** A Lua script with its SHA1, for EVALSHA. */
export interface LuaScript {
  readonly source: string;
  readonly sha: string;
}

/** Define a Lua script; its SHA1 is what EVALSHA sends. */
export function lua(source: string): LuaScript {
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

/**
 * Redis time in ms with microsecond precision. Every script that needs "now" reads it
 * from the server, so application servers with skewed clocks agree.
 */
export const LUA_NOW = `local t = redis.call('TIME')
local now = t[1] * 1000 + t[2] / 1000
`;

/**
 * `after(ms)`: a Lua duration rounded up to whole ms, ignoring float noise (like
 * {@link ceilMs}), never negative.
 */
export const LUA_AFTER = `local function after(x)
  local r = math.ceil(x - 0.000001)
  if r < 0 then return 0 end
  return r
end
`;

/** Tolerance for float comparisons (ms or units); keeps e.g. 3 x (1000/3) within 1000. */
export const EPS = 1e-6;

/**
 * An algorithm's script with its two parameters baked in as Lua constants `P1`/`P2`
 * (fewer arguments to send per call; one cached script per distinct configuration).
 * ARGV layout, shared by all: `[cost, extra?]`, where a negative cost means "peek"
 * (decide without consuming): the prelude sets `cost` and `dry`.
 */
export function algorithmScript(p1: string, p2: string, body: string): LuaScript {
  return lua(`local P1 = ${p1}
local P2 = ${p2}
local cost = tonumber(ARGV[1])
local dry = cost < 0
if dry then cost = -cost end
${body}`);
}

/** One algorithm with its parameters bound. */
export interface Algorithm<S extends MemoryState = MemoryState> {
  /** Public algorithm id, e.g. `fixed-window`. */
  readonly id: string;
  /** Short id for default limiter names (keys are sent with every call), e.g. `fw`. */
  readonly code: string;
  /** Short parameter signature for default limiter names, e.g. `100:60000`. */
  readonly signature: string;
  /** `Decision.limit`. */
  readonly limit: number;
  readonly policy: Pick<RateLimitPolicy, 'quota' | 'windowMs'>;
  /** Largest cost a single call may ask for. */
  readonly maxCost: number;
  /** Whether costs must be whole numbers. */
  readonly integerCost: boolean;
  /** The Redis step, from {@link algorithmScript}. */
  readonly script: LuaScript;
  /** Fresh state for a key never seen. */
  createState(): S;
  /** The memory step: decide at `now`, mutating `state` unless `dry`. */
  step(
    state: S,
    now: number,
    cost: number,
    dry: boolean,
    extra: number | string | undefined,
  ): Decision;
  /** Turn the script's reply into a decision. */
  fromReply(reply: unknown, cost: number, dry: boolean): Decision;
  /** The same algorithm with 1/instances of the quota (the `local` store-error fallback). */
  scaled(instances: number): Algorithm<S>;
}

/** Build a decision; one object shape everywhere keeps call sites monomorphic. */
export function decision(
  allowed: boolean,
  limit: number,
  remaining: number,
  resetAfterMs: number,
  retryAfterMs: number,
  delayMs: number,
): Decision {
  return { allowed, limit, remaining, resetAfterMs, retryAfterMs, delayMs };
}

/** Milliseconds rounded up, ignoring float noise below EPS; never negative. */
export function ceilMs(ms: number): number {
  const rounded = Math.ceil(ms - EPS);
  return Math.max(rounded, 0);
}

/** Read element `i` of a Redis integer-array reply. */
export function int(reply: unknown, i: number): number {
  return (reply as number[])[i] as number;
}

/**
 * The decision of a script replying `{allowed (0/1), remaining, resetAfterMs,
 * retryAfterMs}`, the reply shape of every algorithm that does not pace (no `delayMs`).
 */
export function arrayReplyDecision(reply: unknown, limit: number): Decision {
  return decision(int(reply, 0) === 1, limit, int(reply, 1), int(reply, 2), int(reply, 3), 0);
}
