// The picker contract every balancing algorithm implements; girder/grpc adapts it to
// grpc-js load-balancing policies, `balanced` to any client.
import type { EventSource } from '../core/index.js';
import type { Instance } from '../registry/types.js';

/**
 * What a picker may look at for one call.
 *
 * @example
 * ```ts
 * const target = picker.pick({ key: userId });
 * ```
 */
export interface PickContext {
  /** Affinity key, for `consistentHash`. */
  key?: string;
}

/**
 * The outcome of a call, fed back so pickers can adapt (SWRR's effective weight, EWMA,
 * in-flight counts, outlier ejection).
 *
 * @example
 * ```ts
 * picker.report(target, { ok: true, latencyMs: 12 });
 * ```
 */
export interface CallReport {
  /** Whether the call succeeded (as far as the instance's health is concerned). */
  ok: boolean;
  /** How long it took. */
  latencyMs: number;
  /**
   * The caller gave up (its own abort or deadline): the instance is not to blame, so
   * pickers only release the in-flight slot and learn nothing about health or latency.
   * Default false.
   */
  cancelled?: boolean;
}

/**
 * Chooses an instance per call. `pick` is synchronous and allocation-free on the hot
 * path; it returns `undefined` only when no instance is available.
 *
 * @example
 * ```ts
 * const picker = smoothWeightedRoundRobin();
 * picker.update(discovery.instances());
 * const target = picker.pick();
 * ```
 */
export interface Picker<T extends Instance = Instance> {
  /** The algorithm's name, e.g. `swrr`. */
  readonly kind: string;
  /** Chooses an instance, or `undefined` when none is available. */
  pick(ctx?: PickContext): T | undefined;
  /**
   * Marks the start of a call on `instance` (for in-flight counts); pair with `report`.
   * Pickers that do not count in-flight calls ignore it.
   */
  start?(instance: T): void;
  /** Reports a call's outcome on `instance`. */
  report(instance: T, report: CallReport): void;
  /** Replaces the instance set, keeping per-instance state of instances that stay (matched by `id`). */
  update(instances: readonly T[]): void;
}

/**
 * One instance's pick count, as {@link BalancerPicker.stats} reports it.
 *
 * @example
 * ```ts
 * for (const { id, picks } of picker.stats()) console.log(id, picks);
 * ```
 */
export interface InstanceStats {
  /** Instance id. */
  id: string;
  /** Instance address. */
  address: string;
  /** Picks since the instance joined (kept across updates while it stays). */
  picks: number;
}

/**
 * Events of every girder picker. Picks themselves emit nothing (the hot path stays
 * allocation-free); their counts are read with {@link BalancerPicker.stats}.
 *
 * @example
 * ```ts
 * picker.events.on('updated', ({ instances }) => console.log(`${instances} instances`));
 * ```
 */
export type PickerEvents = {
  /** `update` replaced the instance set. */
  updated: {
    /** The picker's name. */
    name: string | undefined;
    /** Instances now. */
    instances: number;
    /** Instances new in this update. */
    added: number;
    /** Instances gone in this update. */
    removed: number;
  };
};

/**
 * What girder's picker factories return: a {@link Picker} plus its name, events and
 * per-instance pick counts.
 *
 * @example
 * ```ts
 * const picker = smoothWeightedRoundRobin({ name: 'orders' });
 * picker.update(discovery.instances());
 * console.log(picker.pick()?.address, picker.stats());
 * ```
 */
export interface BalancerPicker<T extends Instance = Instance> extends Picker<T> {
  /** The `name` option. */
  readonly name: string | undefined;
  /** Typed events. */
  readonly events: EventSource<PickerEvents>;
  /** Pick counts per current instance. Allocates: meant for scrapes, not the hot path. */
  stats(): InstanceStats[];
}
