// nginx's smooth weighted round robin. Each pick adds every instance's effective weight to
// its running `current`, takes the largest, and subtracts the total from the winner: over
// one cycle of `total` picks each instance is chosen exactly `weight` times, spread out
// (5:1:1 gives a a b a c a a, not a a a a a b c).
import { z } from 'zod';
import { parseOptions, TypedEmitter } from '../core/index.js';
import type { Instance } from '../registry/types.js';
import { checkReport, InstanceTable } from './instance-table.js';
import { emitUpdated, nameSchema } from './shared.js';
import type { BalancerPicker, CallReport, PickContext, PickerEvents } from './types.js';

/**
 * Options of {@link smoothWeightedRoundRobin}.
 *
 * @example
 * ```ts
 * const opts: SmoothWeightedRoundRobinOptions = { failurePenalty: 0.5, recoveryStep: 1 };
 * ```
 */
export interface SmoothWeightedRoundRobinOptions {
  /**
   * Fraction of an instance's configured weight its effective weight loses on each
   * failure report (rounded up, never below 1). Default 0.5: two failures in a row take
   * an instance from its weight to the floor.
   */
  failurePenalty?: number;
  /** How much each success report gives back, up to the configured weight. Default 1. */
  recoveryStep?: number;
  /** Name, for logs and metrics. */
  name?: string;
}

const schema = z.strictObject({
  failurePenalty: z.number().gt(0).max(1).default(0.5),
  recoveryStep: z.number().gt(0).max(1_000_000).default(1),
  name: nameSchema,
});

/**
 * What {@link smoothWeightedRoundRobin} returns: a picker that can also tell an
 * instance's effective weight.
 *
 * @example
 * ```ts
 * const picker = smoothWeightedRoundRobin();
 * picker.update(instances);
 * console.log(picker.effectiveWeight(instances[0]));
 * ```
 */
export interface SmoothWeightedRoundRobin<T extends Instance = Instance> extends BalancerPicker<T> {
  /** The instance's current effective weight, or `undefined` when it is not in the set. */
  effectiveWeight(instance: T): number | undefined;
}

/**
 * Smooth weighted round robin, nginx's algorithm, on each instance's `weight`.
 *
 * Every pick adds each instance's effective weight to its running score, picks the
 * highest score (the earliest instance on ties) and subtracts the sum of effective
 * weights from it. With weights 5:1:1 the picks cycle `a a b a c a a`. Over any run of
 * `total` consecutive picks (weights steady) each instance is picked exactly `weight`
 * times.
 *
 * Effective weight, the rule exactly: it starts at the configured weight. A failure
 * report lowers it by `ceil(weight × failurePenalty)`, never below `min(1, weight)`, so
 * a failing instance keeps a trickle of probe traffic. A success report raises it by
 * `recoveryStep`, never above the configured weight. `update` keeps the effective
 * weight and score of instances that stay (capped at a new, lower weight).
 *
 * `pick` is synchronous and allocates nothing. Reports for instances no longer in the
 * set are ignored.
 *
 * @throws InvalidOptionsError naming each bad option.
 *
 * @example
 * ```ts
 * import { smoothWeightedRoundRobin } from 'girder/balancer';
 *
 * const picker = smoothWeightedRoundRobin();
 * picker.update([
 *   { service: 'orders', id: 'a', address: '10.0.0.1:50051', metadata: {}, weight: 5 },
 *   { service: 'orders', id: 'b', address: '10.0.0.2:50051', metadata: {}, weight: 1 },
 * ]);
 * const target = picker.pick();
 * ```
 */
export function smoothWeightedRoundRobin<T extends Instance = Instance>(
  options: SmoothWeightedRoundRobinOptions = {},
): SmoothWeightedRoundRobin<T> {
  const opts = parseOptions('smoothWeightedRoundRobin', schema, options);
  return new Swrr<T>(opts.failurePenalty, opts.recoveryStep, opts.name);
}

class Swrr<T extends Instance> implements SmoothWeightedRoundRobin<T> {
  readonly kind = 'swrr';
  readonly events = new TypedEmitter<PickerEvents>();
  readonly #table = new InstanceTable<T>();
  #weight = new Float64Array(0);
  #effective = new Float64Array(0);
  #current = new Float64Array(0);
  #total = 0;
  // Local references to the table's arrays, refreshed by update: one less hop per pick.
  #items: T[] = [];
  #picks: Float64Array = new Float64Array(0);

  constructor(
    private readonly failurePenalty: number,
    private readonly recoveryStep: number,
    readonly name: string | undefined,
  ) {}

  pick(_ctx?: PickContext): T | undefined {
    const effective = this.#effective;
    const current = this.#current;
    const n = effective.length;
    if (n === 0) return undefined;
    let best = 0;
    let bestScore = (current[0] as number) + (effective[0] as number);
    current[0] = bestScore;
    for (let i = 1; i < n; i++) {
      const score = (current[i] as number) + (effective[i] as number);
      current[i] = score;
      if (score > bestScore) {
        bestScore = score;
        best = i;
      }
    }
    current[best] = bestScore - this.#total;
    const picks = this.#picks;
    picks[best] = (picks[best] as number) + 1;
    return this.#items[best];
  }

  report(instance: T, report: CallReport): void {
    checkReport(report);
    const i = this.#table.indexOf(instance);
    if (i < 0 || report.cancelled === true) return;
    const weight = this.#weight[i] as number;
    const before = this.#effective[i] as number;
    const after = report.ok
      ? Math.min(weight, before + this.recoveryStep)
      : Math.max(Math.min(1, weight), before - Math.ceil(weight * this.failurePenalty));
    this.#effective[i] = after;
    this.#total += after - before;
  }

  update(instances: readonly T[]): void {
    const previous = this.#table.size;
    const oldEffective = this.#effective;
    const oldCurrent = this.#current;
    const from = this.#table.replace(instances);
    const n = from.length;
    const weight = new Float64Array(n);
    const effective = new Float64Array(n);
    const current = new Float64Array(n);
    let total = 0;
    for (let i = 0; i < n; i++) {
      const w = (this.#table.items[i] as T).weight;
      const old = from[i] as number;
      weight[i] = w;
      effective[i] = old >= 0 ? Math.min(w, oldEffective[old] as number) : w;
      current[i] = old >= 0 ? (oldCurrent[old] as number) : 0;
      total += effective[i] as number;
    }
    this.#weight = weight;
    this.#effective = effective;
    this.#current = current;
    this.#total = total;
    this.#items = this.#table.items;
    this.#picks = this.#table.picks;
    emitUpdated(this.events, this.name, from, previous);
  }

  effectiveWeight(instance: T): number | undefined {
    const i = this.#table.indexOf(instance);
    return i < 0 ? undefined : this.#effective[i];
  }

  stats() {
    return this.#table.stats();
  }
}
