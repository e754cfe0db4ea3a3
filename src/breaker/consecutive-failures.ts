import { z } from 'zod';
import { parseOptions } from '../core/index.js';
import { parseSnapshot } from './internal.js';
import type { BreakerPolicy, PolicySnapshot, PolicyState } from './policy.js';

/** Options of {@link consecutiveFailures}. */
export interface ConsecutiveFailuresOptions {
  /** Trip after this many failures in a row (any success resets the streak). Default 5. */
  threshold?: number;
}

/** A {@link BreakerPolicy} built by {@link consecutiveFailures}, with its resolved options. */
export interface ConsecutiveFailuresPolicy extends BreakerPolicy {
  /** Always `consecutiveFailures`. */
  readonly kind: 'consecutiveFailures';
  /** The options in effect, defaults applied. */
  readonly options: Required<ConsecutiveFailuresOptions>;
}

const schema = z.strictObject({
  threshold: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).default(5),
});

const snapshotSchema = z.strictObject({
  kind: z.literal('consecutiveFailures'),
  failures: z.number().int().min(0),
});

class ConsecutiveState implements PolicyState {
  readonly timed = false;
  readonly measuresDuration = false;
  readonly throttles = false;
  readonly #threshold: number;
  #failures = 0;

  constructor(threshold: number) {
    this.#threshold = threshold;
  }

  admit(): boolean {
    return true;
  }

  record(failed: boolean): boolean {
    if (failed) return ++this.#failures >= this.#threshold;
    this.#failures = 0;
    return false;
  }

  tripReason(): string {
    return `${this.#failures} consecutive failures (threshold ${this.#threshold})`;
  }

  reset(): void {
    this.#failures = 0;
  }

  toJSON(): PolicySnapshot {
    return { kind: 'consecutiveFailures', failures: this.#failures };
  }

  restore(snapshot: PolicySnapshot, path: string): void {
    this.#failures = parseSnapshot(snapshotSchema, snapshot, path).failures;
  }
}

/**
 * Trip after `threshold` failures in a row. The simplest policy and the cheapest: one
 * counter, no clock. Best for low or bursty traffic, where a rate over a window has
 * too few samples to mean anything.
 *
 * @example
 * ```ts
 * import { circuitBreaker, consecutiveFailures } from 'girder/breaker';
 *
 * const breaker = circuitBreaker({ policy: consecutiveFailures({ threshold: 5 }), openMs: 10_000 });
 * ```
 */
export function consecutiveFailures(
  options: ConsecutiveFailuresOptions = {},
): ConsecutiveFailuresPolicy {
  const resolved = parseOptions('consecutiveFailures', schema, options);
  return {
    kind: 'consecutiveFailures',
    options: resolved,
    create: () => new ConsecutiveState(resolved.threshold),
  };
}
