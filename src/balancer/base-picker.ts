// The bookkeeping every picker shares (instance table, name, `updated` event, stats), so
// each algorithm file holds only its pick rule and per-instance state.
import { z } from 'zod';
import { functionSchema, TypedEmitter } from '../core/index.js';
import type { Instance } from '../registry/types.js';
import { checkReport, InstanceTable } from './instance-table.js';
import { emitUpdated } from './shared.js';
import type {
  BalancerPicker,
  CallReport,
  InstanceStats,
  PickContext,
  PickerEvents,
} from './types.js';

/** Schema of a `random` option: a function returning a number in [0, 1). @internal */
export const randomSchema = functionSchema<() => number>('must be a function returning [0, 1)')
  .optional()
  .transform((f) => f ?? Math.random);

/** Schema of an in-flight tie rule. @internal */
export const tiesSchema = z.enum(['random', 'round-robin']).default('random');

/** @internal */
export abstract class BasePicker<T extends Instance> implements BalancerPicker<T> {
  abstract readonly kind: string;
  readonly events = new TypedEmitter<PickerEvents>();
  protected readonly table = new InstanceTable<T>();

  constructor(readonly name: string | undefined) {}

  abstract pick(ctx?: PickContext): T | undefined;

  /** Rebuilds per-slot state; `from[i]` is slot i's previous slot or -1. */
  protected abstract rebuild(from: Int32Array): void;

  /** Applies a validated report to slot `i`. */
  protected abstract record(i: number, report: CallReport): void;

  report(instance: T, report: CallReport): void {
    checkReport(report);
    const i = this.table.indexOf(instance);
    if (i >= 0) this.record(i, report);
  }

  update(instances: readonly T[]): void {
    const previous = this.table.size;
    const from = this.table.replace(instances);
    this.rebuild(from);
    emitUpdated(this.events, this.name, from, previous);
  }

  stats(): InstanceStats[] {
    return this.table.stats();
  }

  /** Counts a pick of slot `i` and returns its instance. */
  protected chosen(i: number): T {
    const picks = this.table.picks;
    picks[i] = (picks[i] as number) + 1;
    return this.table.items[i] as T;
  }
}

/** Carries `old[from[i]]` into a new array (or `fill` for newcomers). @internal */
export function carry<A extends Float64Array | Int32Array>(
  old: A,
  from: Int32Array,
  make: (n: number) => A,
  fill = 0,
): A {
  const out = make(from.length);
  for (let i = 0; i < from.length; i++) {
    const o = from[i] as number;
    out[i] = o >= 0 ? (old[o] as number) : fill;
  }
  return out;
}

/** Uniform integer in [0, n) from `random`, clamped so a random() of exactly 1 stays in range. @internal */
export function randomIndex(random: () => number, n: number): number {
  const i = Math.floor(random() * n);
  return i >= n ? n - 1 : Math.max(i, 0);
}
