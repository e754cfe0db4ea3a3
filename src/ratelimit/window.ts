// Internal: what the (limit, windowMs) algorithms share — their options, their schema,
// and the fields an algorithm derives from those two numbers.
import { z } from 'zod';
import {
  type Algorithm,
  algorithmScript,
  arrayReplyDecision,
  type LuaScript,
  type MemoryState,
} from './algorithm.js';
import { type LimiterOptions, limiterFields, quotaSchema, windowSchema } from './limiter.js';
import type { Decision } from './types.js';

/** Options of the windowed limiters: {@link fixedWindow}, {@link slidingWindow}, {@link slidingWindowLog}. */
export interface WindowLimitOptions extends LimiterOptions {
  /** Units allowed per window (integer >= 1); each algorithm's guide says what a window is. */
  limit: number;
  /** Window length in ms (integer >= 1). */
  windowMs: number;
}

/** @internal The zod schema of {@link WindowLimitOptions}. */
export const windowLimitSchema = z.strictObject({
  limit: quotaSchema,
  windowMs: windowSchema,
  ...limiterFields,
});

/**
 * @internal A (limit, windowMs) algorithm whose script takes them as P1/P2 and replies
 * `{allowed, remaining, resetAfterMs, retryAfterMs}`; subclasses add the state and step.
 */
export abstract class WindowAlgorithm<S extends MemoryState> implements Algorithm<S> {
  abstract readonly id: string;
  abstract readonly code: string;
  readonly integerCost = true;
  readonly script: LuaScript;
  readonly signature: string;
  readonly policy: { quota: number; windowMs: number };
  readonly maxCost: number;

  constructor(
    readonly limit: number,
    readonly windowMs: number,
    body: string,
  ) {
    this.maxCost = limit;
    this.signature = `${limit}:${windowMs}`;
    this.policy = { quota: limit, windowMs };
    this.script = algorithmScript(String(limit), String(windowMs), body);
  }

  abstract createState(): S;
  abstract step(state: S, now: number, cost: number, dry: boolean): Decision;

  fromReply(reply: unknown): Decision {
    return arrayReplyDecision(reply, this.limit);
  }

  /** The same algorithm with another limit. */
  protected abstract withLimit(limit: number): WindowAlgorithm<S>;

  scaled(instances: number): WindowAlgorithm<S> {
    return this.withLimit(Math.max(1, Math.floor(this.limit / instances)));
  }
}
