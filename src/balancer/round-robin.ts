// Round robin and uniform random: the two pickers that ignore weights and feedback.
import { z } from 'zod';
import { parseOptions } from '../core/index.js';
import type { Instance } from '../registry/types.js';
import { BasePicker, randomIndex, randomSchema } from './base-picker.js';
import { nameSchema } from './shared.js';
import type { BalancerPicker } from './types.js';

/**
 * Options of {@link roundRobin}.
 *
 * @example
 * ```ts
 * const opts: RoundRobinOptions = { name: 'orders' };
 * ```
 */
export interface RoundRobinOptions {
  /** Name, for logs and metrics. */
  name?: string;
}

/**
 * Options of {@link random}.
 *
 * @example
 * ```ts
 * const opts: RandomOptions = { random: Math.random };
 * ```
 */
export interface RandomOptions {
  /** Source of uniform numbers in [0, 1). Default `Math.random`; inject a seeded one in tests. */
  random?: () => number;
  /** Name, for logs and metrics. */
  name?: string;
}

const rrSchema = z.strictObject({ name: nameSchema });
const randomOptionsSchema = z.strictObject({ random: randomSchema, name: nameSchema });

/**
 * Plain round robin: instances in turn, ignoring weights and reports. After `update`
 * the turn continues from the same position (modulo the new size).
 *
 * @throws InvalidOptionsError naming each bad option.
 *
 * @example
 * ```ts
 * import { roundRobin } from 'girder/balancer';
 *
 * const picker = roundRobin();
 * picker.update(discovery.instances());
 * const target = picker.pick();
 * ```
 */
export function roundRobin<T extends Instance = Instance>(
  options: RoundRobinOptions = {},
): BalancerPicker<T> {
  const opts = parseOptions('roundRobin', rrSchema, options);
  return new RoundRobin<T>(opts.name);
}

class RoundRobin<T extends Instance> extends BasePicker<T> {
  readonly kind = 'round_robin';
  #next = 0;

  pick(): T | undefined {
    const n = this.table.size;
    if (n === 0) return undefined;
    const i = this.#next >= n ? 0 : this.#next;
    this.#next = i + 1;
    return this.chosen(i);
  }

  protected rebuild(): void {}
  protected record(): void {}
}

/**
 * Uniform random choice, ignoring weights and reports.
 *
 * @throws InvalidOptionsError naming each bad option.
 *
 * @example
 * ```ts
 * import { random } from 'girder/balancer';
 *
 * const picker = random();
 * picker.update(discovery.instances());
 * const target = picker.pick();
 * ```
 */
export function random<T extends Instance = Instance>(
  options: RandomOptions = {},
): BalancerPicker<T> {
  const opts = parseOptions('random', randomOptionsSchema, options);
  return new RandomPicker<T>(opts.random, opts.name);
}

class RandomPicker<T extends Instance> extends BasePicker<T> {
  readonly kind = 'random';

  constructor(
    private readonly random: () => number,
    name: string | undefined,
  ) {
    super(name);
  }

  pick(): T | undefined {
    const n = this.table.size;
    return n === 0 ? undefined : this.chosen(randomIndex(this.random, n));
  }

  protected rebuild(): void {}
  protected record(): void {}
}
