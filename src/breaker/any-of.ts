import { z } from 'zod';
import { type Clock, InvalidArgumentError } from '../core/index.js';
import { parseSnapshot, snapshotMismatch } from './internal.js';
import {
  type BreakerPolicy,
  isBreakerPolicy,
  type PolicySnapshot,
  type PolicyState,
} from './policy.js';

/** A {@link BreakerPolicy} built by {@link anyOf}. */
export interface AnyOfPolicy extends BreakerPolicy {
  /** Always `anyOf`. */
  readonly kind: 'anyOf';
  /** The combined policies, in order. */
  readonly policies: readonly BreakerPolicy[];
}

const snapshotSchema = z.strictObject({
  kind: z.literal('anyOf'),
  policies: z.array(z.looseObject({ kind: z.string() })),
});

class AnyOfState implements PolicyState {
  readonly timed: boolean;
  readonly measuresDuration: boolean;
  readonly throttles: boolean;
  readonly #children: PolicyState[];
  readonly #throttlers: PolicyState[];
  readonly #kinds: string[];
  #tripped = -1;

  constructor(policies: readonly BreakerPolicy[], clock: Clock) {
    this.#children = policies.map((p) => p.create(clock));
    this.#kinds = policies.map((p) => p.kind);
    this.#throttlers = this.#children.filter((c) => c.throttles);
    this.timed = this.#children.some((c) => c.timed);
    this.measuresDuration = this.#children.some((c) => c.measuresDuration);
    this.throttles = this.#throttlers.length > 0;
  }

  admit(now: number): boolean {
    const throttlers = this.#throttlers;
    for (let i = 0; i < throttlers.length; i++) if (!throttlers[i]!.admit(now)) return false;
    return true;
  }

  record(failed: boolean, now: number, durationMs: number): boolean {
    const children = this.#children;
    let tripped = -1;
    for (let i = 0; i < children.length; i++) {
      if (children[i]!.record(failed, now, durationMs) && tripped < 0) tripped = i;
    }
    if (tripped < 0) return false;
    this.#tripped = tripped;
    return true;
  }

  cancelled(admittedAt: number): void {
    for (const t of this.#throttlers) t.cancelled?.(admittedAt);
  }

  tripReason(): string {
    const i = this.#tripped;
    return i < 0 ? 'not tripped' : `${this.#kinds[i]}: ${this.#children[i]!.tripReason()}`;
  }

  reset(): void {
    for (const c of this.#children) c.reset();
    this.#tripped = -1;
  }

  toJSON(): PolicySnapshot {
    return { kind: 'anyOf', policies: this.#children.map((c) => c.toJSON()) };
  }

  restore(snapshot: PolicySnapshot, path: string): void {
    const parsed = parseSnapshot(snapshotSchema, snapshot, path);
    if (parsed.policies.length !== this.#children.length) {
      snapshotMismatch(
        `${path}.policies`,
        `has ${parsed.policies.length} policies but ${this.#children.length} are configured`,
      );
    }
    parsed.policies.forEach((child, i) => {
      if (child.kind !== this.#kinds[i]) {
        snapshotMismatch(
          `${path}.policies.${i}.kind`,
          `is "${child.kind}" but "${this.#kinds[i]}" is configured`,
        );
      }
    });
    // Validate every child before changing any: a refused snapshot leaves no partial state.
    const before = this.#children.map((c) => c.toJSON());
    try {
      parsed.policies.forEach((child, i) => {
        this.#children[i]!.restore(child, `${path}.policies.${i}`);
      });
    } catch (error) {
      this.#children.forEach((c, i) => {
        c.restore(before[i]!, `${path}.policies.${i}`);
      });
      throw error;
    }
  }
}

/**
 * Combine policies: the breaker trips as soon as any of them trips, and (for
 * throttling policies) admits a call only if all of them admit it. Every policy sees
 * every outcome. Passing an array as `policy` to `circuitBreaker` does the same.
 *
 * @example
 * ```ts
 * import { anyOf, circuitBreaker, consecutiveFailures, failureRate } from 'girder/breaker';
 *
 * // trip fast on a hard outage, and on a sustained 50% error rate
 * const policy = anyOf(consecutiveFailures({ threshold: 10 }), failureRate({ threshold: 0.5 }));
 * const breaker = circuitBreaker({ policy });
 * ```
 */
export function anyOf(...policies: BreakerPolicy[]): AnyOfPolicy {
  if (policies.length === 0) throw new InvalidArgumentError('policies', 'give at least one policy');
  policies.forEach((p, i) => {
    if (!isBreakerPolicy(p)) {
      throw new InvalidArgumentError(`policies[${i}]`, 'is not a breaker policy (kind + create())');
    }
  });
  const frozen = Object.freeze([...policies]);
  return { kind: 'anyOf', policies: frozen, create: (clock) => new AnyOfState(frozen, clock) };
}
