// Weighted random: a prefix-sum table over the weights and a binary search per pick.
import { z } from 'zod';
import { parseOptions } from '../core/index.js';
import type { Instance } from '../registry/types.js';
import { BasePicker, randomSchema } from './base-picker.js';
import { nameSchema } from './shared.js';
import type { BalancerPicker } from './types.js';

/**
 * Options of {@link weightedRandom}.
 *
 * @example
 * ```ts
 * const opts: WeightedRandomOptions = { random: Math.random };
 * ```
 */
export interface WeightedRandomOptions {
  /** Source of uniform numbers in [0, 1). Default `Math.random`; inject a seeded one in tests. */
  random?: () => number;
  /** Name, for logs and metrics. */
  name?: string;
}

const schema = z.strictObject({ random: randomSchema, name: nameSchema });

/**
 * Random choice in proportion to each instance's `weight` (O(log n) per pick). Unlike
 * {@link smoothWeightedRoundRobin} the split is right only on average, but it needs no
 * shared state between callers. Reports are ignored.
 *
 * @throws InvalidOptionsError naming each bad option.
 *
 * @example
 * ```ts
 * import { weightedRandom } from 'girder/balancer';
 *
 * const picker = weightedRandom();
 * picker.update(discovery.instances());
 * const target = picker.pick();
 * ```
 */
export function weightedRandom<T extends Instance = Instance>(
  options: WeightedRandomOptions = {},
): BalancerPicker<T> {
  const opts = parseOptions('weightedRandom', schema, options);
  return new WeightedRandom<T>(opts.random, opts.name);
}

class WeightedRandom<T extends Instance> extends BasePicker<T> {
  readonly kind = 'weighted_random';
  /** ends[i] = weight of instances 0..i. */
  #ends = new Float64Array(0);

  constructor(
    private readonly random: () => number,
    name: string | undefined,
  ) {
    super(name);
  }

  pick(): T | undefined {
    const n = this.table.size;
    if (n === 0) return undefined;
    const ends = this.#ends;
    const target = this.random() * (ends[n - 1] as number);
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((ends[mid] as number) > target) hi = mid;
      else lo = mid + 1;
    }
    return this.chosen(lo);
  }

  protected rebuild(): void {
    const items = this.table.items;
    const ends = new Float64Array(items.length);
    let sum = 0;
    for (let i = 0; i < items.length; i++) {
      sum += (items[i] as T).weight;
      ends[i] = sum;
    }
    this.#ends = ends;
  }

  protected record(): void {}
}
