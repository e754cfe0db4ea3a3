// The picker contract every balancing algorithm implements; girder/grpc adapts it to
// grpc-js load-balancing policies, `balanced` to any client.
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
