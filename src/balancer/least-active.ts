// Least active: the instance with the fewest calls in flight, counted by start/report.
import { z } from 'zod';
import { parseOptions } from '../core/index.js';
import type { Instance } from '../registry/types.js';
import { BasePicker, carry, randomIndex, randomSchema, tiesSchema } from './base-picker.js';
import { nameSchema } from './shared.js';
import type { BalancerPicker, CallReport } from './types.js';

/**
 * Options of {@link leastActive}.
 *
 * @example
 * ```ts
 * const opts: LeastActiveOptions = { ties: 'round-robin' };
 * ```
 */
export interface LeastActiveOptions {
  /**
   * How to choose among instances with the same, lowest in-flight count: `'random'`
   * (default; callers in many processes do not herd onto the same instance) or
   * `'round-robin'` (deterministic, even when idle).
   */
  ties?: 'random' | 'round-robin';
  /** Source of uniform numbers in [0, 1) for `ties: 'random'`. Default `Math.random`. */
  random?: () => number;
  /** Name, for logs and metrics. */
  name?: string;
}

const schema = z.strictObject({ ties: tiesSchema, random: randomSchema, name: nameSchema });

/**
 * The picker that sends each call to the instance with the fewest calls in flight.
 * In-flight counts come from `start(instance)` (one more) and `report(instance, …)`
 * (one fewer, never below zero), so every pick must be followed by `start` when the call
 * begins and `report` when it ends (`balanced` does both). Counts are per picker:
 * this process's view, not the instance's total load.
 *
 * @throws InvalidOptionsError naming each bad option.
 *
 * @example
 * ```ts
 * import { leastActive } from 'girder/balancer';
 *
 * const picker = leastActive();
 * picker.update(discovery.instances());
 * const target = picker.pick();
 * if (target) {
 *   picker.start(target);
 *   // ... call it, then:
 *   picker.report(target, { ok: true, latencyMs: 8 });
 * }
 * ```
 */
export function leastActive<T extends Instance = Instance>(
  options: LeastActiveOptions = {},
): BalancerPicker<T> & {
  /** Counts a call starting on `instance`; pair it with `report`. */
  start(instance: T): void;
} {
  const opts = parseOptions('leastActive', schema, options);
  return new LeastActive<T>(opts.ties, opts.random, opts.name);
}

class LeastActive<T extends Instance> extends BasePicker<T> {
  readonly kind = 'least_active';
  #active = new Int32Array(0);
  #offset = 0;

  constructor(
    private readonly ties: 'random' | 'round-robin',
    private readonly random: () => number,
    name: string | undefined,
  ) {
    super(name);
  }

  pick(): T | undefined {
    const n = this.table.size;
    if (n === 0) return undefined;
    const active = this.#active;
    if (this.ties === 'round-robin') {
      // Scan from a rotating start and keep the first minimum.
      const start = this.#offset >= n ? 0 : this.#offset;
      let best = start;
      for (let k = 1; k < n; k++) {
        const i = start + k < n ? start + k : start + k - n;
        if ((active[i] as number) < (active[best] as number)) best = i;
      }
      this.#offset = best + 1;
      return this.chosen(best);
    }
    // Reservoir sampling over the minima: each tied instance is chosen with equal odds.
    let best = 0;
    let tied = 1;
    for (let i = 1; i < n; i++) {
      const a = active[i] as number;
      const b = active[best] as number;
      if (a < b) {
        best = i;
        tied = 1;
      } else if (a === b) {
        tied++;
        if (randomIndex(this.random, tied) === 0) best = i;
      }
    }
    return this.chosen(best);
  }

  start(instance: T): void {
    const i = this.table.indexOf(instance);
    if (i >= 0) this.#active[i] = (this.#active[i] as number) + 1;
  }

  protected record(i: number, _report: CallReport): void {
    const a = this.#active[i] as number;
    if (a > 0) this.#active[i] = a - 1;
  }

  protected rebuild(from: Int32Array): void {
    this.#active = carry(this.#active, from, (n) => new Int32Array(n));
  }

  /** @internal In-flight count of slot `i`, for tests. */
  activeAt(i: number): number {
    return this.#active[i] as number;
  }
}
