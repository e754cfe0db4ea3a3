// The instance list every picker keeps: validated once per update, indexed by id so
// reports find their slot without allocating, with a pick counter per slot that the
// observability mapping reads at scrape time (cheaper than an event per pick).
import { InvalidArgumentError } from '../core/index.js';
import type { Instance } from '../registry/types.js';
import type { CallReport, InstanceStats } from './types.js';

/** @internal */
export class InstanceTable<T extends Instance> {
  items: T[] = [];
  picks: Float64Array = new Float64Array(0);
  #index = new Map<string, number>();

  get size(): number {
    return this.items.length;
  }

  /**
   * Validates `instances`, then replaces the table. Returns, for each new slot, the slot
   * the same id had before, or -1 for a newcomer, so pickers can carry their state over.
   * Throws before changing anything when an instance is malformed or an id repeats.
   */
  replace(instances: readonly T[]): Int32Array {
    if (!Array.isArray(instances)) throw new InvalidArgumentError('instances', 'must be an array');
    const index = new Map<string, number>();
    for (let i = 0; i < instances.length; i++) {
      const it = instances[i] as T;
      if (typeof it !== 'object' || it === null) {
        throw new InvalidArgumentError(`instances[${i}]`, 'must be an Instance object');
      }
      if (typeof it.id !== 'string' || it.id === '') {
        throw new InvalidArgumentError(`instances[${i}].id`, 'must be a non-empty string');
      }
      if (typeof it.weight !== 'number' || !Number.isFinite(it.weight) || it.weight <= 0) {
        throw new InvalidArgumentError(`instances[${i}].weight`, 'must be a finite number > 0');
      }
      if (index.has(it.id)) {
        throw new InvalidArgumentError(`instances[${i}].id`, `duplicate id "${it.id}"`);
      }
      index.set(it.id, i);
    }
    const from = new Int32Array(instances.length);
    const picks = new Float64Array(instances.length);
    for (let i = 0; i < instances.length; i++) {
      const old = this.#index.get((instances[i] as T).id);
      from[i] = old ?? -1;
      if (old !== undefined) picks[i] = this.picks[old] as number;
    }
    this.items = instances.slice();
    this.picks = picks;
    this.#index = index;
    return from;
  }

  /** The slot of `instance` (matched by id), or -1 when it is no longer in the table. */
  indexOf(instance: T): number {
    if (typeof instance !== 'object' || instance === null || typeof instance.id !== 'string') {
      throw new InvalidArgumentError('instance', 'must be an Instance with a string id');
    }
    return this.#index.get(instance.id) ?? -1;
  }

  stats(): InstanceStats[] {
    const out: InstanceStats[] = [];
    for (let i = 0; i < this.items.length; i++) {
      const it = this.items[i] as T;
      out.push({ id: it.id, address: it.address, picks: this.picks[i] as number });
    }
    return out;
  }
}

/** Throws `INVALID_ARGUMENT` unless `report` is a well-formed {@link CallReport}. @internal */
export function checkReport(report: CallReport): void {
  if (typeof report !== 'object' || report === null) {
    throw new InvalidArgumentError('report', 'must be { ok, latencyMs }');
  }
  if (typeof report.ok !== 'boolean')
    throw new InvalidArgumentError('report.ok', 'must be a boolean');
  const ms = report.latencyMs;
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) {
    throw new InvalidArgumentError('report.latencyMs', 'must be a finite number >= 0');
  }
  if (report.cancelled !== undefined && typeof report.cancelled !== 'boolean') {
    throw new InvalidArgumentError('report.cancelled', 'must be a boolean when given');
  }
}
