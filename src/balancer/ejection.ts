// Outlier ejection around any picker: an instance failing `consecutiveFailures` times in a
// row leaves the inner picker's set for a while, longer each time it is ejected again.
// Ejected instances are removed with `update` (rare), so `pick` stays the inner picker's
// own allocation-free pick plus one clock read and comparison.
import { z } from 'zod';
import {
  type Clock,
  clockSchema,
  type EventSource,
  InvalidArgumentError,
  parseOptions,
  systemClock,
  TypedEmitter,
} from '../core/index.js';
import type { Instance } from '../registry/types.js';
import { checkReport } from './instance-table.js';
import { nameSchema } from './shared.js';
import type {
  BalancerPicker,
  CallReport,
  InstanceStats,
  PickContext,
  Picker,
  PickerEvents,
} from './types.js';

/**
 * Options of {@link withEjection}.
 *
 * @example
 * ```ts
 * const opts: EjectionOptions = { consecutiveFailures: 5, baseEjectionMs: 30_000 };
 * ```
 */
export interface EjectionOptions {
  /** Failures in a row (no success between) that eject an instance. Default 5. */
  consecutiveFailures?: number;
  /** First ejection's length; each further ejection doubles it. Default 30,000 ms. */
  baseEjectionMs?: number;
  /** Longest ejection. Default 300,000 ms. */
  maxEjectionMs?: number;
  /**
   * Most instances ejected at once, as a percentage of the set (rounded down, but at least
   * one when above 0). At least one instance always stays pickable. Default 50.
   */
  maxEjectionPercent?: number;
  /** Clock. Default `systemClock`. */
  clock?: Clock;
  /** Name, for logs and metrics. Default: the inner picker's name. */
  name?: string;
}

const schema = z
  .strictObject({
    consecutiveFailures: z.number().int().min(1).max(1_000_000).default(5),
    baseEjectionMs: z.number().finite().positive().default(30_000),
    maxEjectionMs: z.number().finite().positive().default(300_000),
    maxEjectionPercent: z.number().finite().min(0).max(100).default(50),
    clock: clockSchema.default(systemClock),
    name: nameSchema,
  })
  .refine((o) => o.maxEjectionMs >= o.baseEjectionMs, {
    message: 'must be >= baseEjectionMs',
    path: ['maxEjectionMs'],
  });

/**
 * Events of {@link withEjection}: the inner picker's plus ejections and restorations.
 *
 * @example
 * ```ts
 * picker.events.on('ejected', ({ instance, forMs }) => log.warn('ejected', { id: instance.id, forMs }));
 * ```
 */
export type EjectionEvents = PickerEvents & {
  /** An instance was taken out of rotation. */
  ejected: {
    /** The picker's name. */
    name: string | undefined;
    /** The instance ejected. */
    instance: Instance;
    /** How long it stays out. */
    forMs: number;
    /** How many times in a row it has now been ejected (the backoff exponent + 1). */
    ejections: number;
    /** Instances ejected now, this one included. */
    ejectedCount: number;
  };
  /** An ejected instance's time was up and it is back in rotation (seen at the next pick). */
  restored: {
    /** The picker's name. */
    name: string | undefined;
    /** The instance restored. */
    instance: Instance;
    /** How long it was out. */
    ejectedMs: number;
  };
  /** An instance reached `consecutiveFailures` but the cap kept it in rotation. */
  ejectionCapped: {
    /** The picker's name. */
    name: string | undefined;
    /** The instance that stayed in rotation. */
    instance: Instance;
    /** Instances ejected now. */
    ejectedCount: number;
  };
};

/**
 * What {@link withEjection} returns.
 *
 * @example
 * ```ts
 * const picker = withEjection(p2cEwma(), { consecutiveFailures: 3 });
 * console.log(picker.ejected().map((i) => i.id));
 * ```
 */
export interface EjectingPicker<T extends Instance = Instance> extends Picker<T> {
  /** The `name` option (or the inner picker's name). */
  readonly name: string | undefined;
  /** Typed events. */
  readonly events: EventSource<EjectionEvents>;
  /** Counts a call starting (forwarded to the inner picker). */
  start(instance: T): void;
  /** The instances ejected now. */
  ejected(): T[];
  /** Pick counts of the instances in rotation (from the inner picker), when it keeps them. */
  stats(): InstanceStats[];
  /** The wrapped picker. */
  readonly inner: Picker<T>;
}

interface Health {
  failures: number;
  ejections: number;
  /** 0 when in rotation. */
  ejectedUntil: number;
  ejectedAt: number;
  restoredAt: number;
}

/**
 * Outlier ejection around any picker.
 *
 * Rules, exactly:
 * - A failure report adds one to the instance's run of failures; a success resets it;
 *   cancelled calls change nothing.
 * - When the run reaches `consecutiveFailures`, the instance is ejected for
 *   `min(maxEjectionMs, baseEjectionMs × 2^(k-1))`, k being its ejection count. The count
 *   returns to 0 once the instance has stayed in rotation for `maxEjectionMs` after its
 *   last restoration.
 * - At most `max(1, floor(n × maxEjectionPercent / 100))` of the n instances are ejected
 *   at once (0 when the percentage is 0), and never all of them: an instance over the
 *   limit stays in (event `ejectionCapped`) and its run restarts.
 * - Ejected instances come back at the first pick after their time is up (event
 *   `restored`), with a clean run of failures. When `update` shrinks the set so the cap
 *   no longer holds, the instances due soonest return at once (no event).
 *
 * Ejection works by handing the inner picker the set without the ejected instances, so
 * the inner picker's state for an ejected instance starts afresh when it returns.
 * Instances removed by `update` forget their health.
 *
 * @throws InvalidOptionsError naming each bad option.
 * @throws InvalidArgumentError when `picker` is not a picker.
 *
 * @example
 * ```ts
 * import { smoothWeightedRoundRobin, withEjection } from 'girder/balancer';
 *
 * const picker = withEjection(smoothWeightedRoundRobin(), {
 *   consecutiveFailures: 5,
 *   baseEjectionMs: 30_000,
 *   maxEjectionPercent: 50,
 * });
 * picker.events.on('ejected', ({ instance }) => console.warn(`${instance.id} ejected`));
 * picker.update(discovery.instances());
 * ```
 */
export function withEjection<T extends Instance>(
  picker: Picker<T>,
  options: EjectionOptions = {},
): EjectingPicker<T> {
  const opts = parseOptions('withEjection', schema, options);
  if (
    typeof picker !== 'object' ||
    picker === null ||
    typeof picker.pick !== 'function' ||
    typeof picker.report !== 'function' ||
    typeof picker.update !== 'function'
  ) {
    throw new InvalidArgumentError('picker', 'must be a Picker with pick, report and update');
  }
  return new Ejecting<T>(picker, opts);
}

type Settings = Required<Omit<EjectionOptions, 'name'>> & { name?: string | undefined };

class Ejecting<T extends Instance> implements EjectingPicker<T> {
  readonly events = new TypedEmitter<EjectionEvents>();
  readonly name: string | undefined;
  #all: T[] = [];
  #health = new Map<string, Health>();
  #ejected = 0;
  /** Earliest ejectedUntil among ejected instances; Infinity when none. */
  #nextRestore = Number.POSITIVE_INFINITY;

  constructor(
    readonly inner: Picker<T>,
    private readonly s: Settings,
  ) {
    this.name = s.name ?? (inner as Partial<BalancerPicker<T>>).name;
    const innerEvents = (inner as Partial<BalancerPicker<T>>).events;
    innerEvents?.on('updated', (e) => this.events.emit('updated', e));
  }

  get kind(): string {
    return this.inner.kind;
  }

  pick(ctx?: PickContext): T | undefined {
    if (this.#ejected > 0 && this.s.clock.now() >= this.#nextRestore) this.#restoreDue();
    return this.inner.pick(ctx);
  }

  start(instance: T): void {
    this.inner.start?.(instance);
  }

  report(instance: T, report: CallReport): void {
    checkReport(report);
    this.inner.report(instance, report);
    if (report.cancelled === true) return;
    const h = this.#health.get(instance.id);
    if (h === undefined || h.ejectedUntil > 0) return;
    if (report.ok) {
      h.failures = 0;
      return;
    }
    h.failures++;
    if (h.failures >= this.s.consecutiveFailures) this.#eject(instance.id, h);
  }

  update(instances: readonly T[]): void {
    if (!Array.isArray(instances)) throw new InvalidArgumentError('instances', 'must be an array');
    const health = new Map<string, Health>();
    const all = instances.slice();
    for (const it of all) {
      const id = (it as T | null)?.id;
      const old = typeof id === 'string' ? this.#health.get(id) : undefined;
      if (typeof id === 'string') {
        health.set(
          id,
          old ?? { failures: 0, ejections: 0, ejectedUntil: 0, ejectedAt: 0, restoredAt: 0 },
        );
      }
    }
    // The inner picker validates; on a throw nothing here has changed yet.
    this.inner.update(all.filter((it) => (health.get(it.id)?.ejectedUntil ?? 0) === 0));
    this.#all = all;
    this.#health = health;
    this.#recount();
    // A smaller set may lower the cap: return the earliest-due instances until it holds.
    let restored = false;
    while (this.#ejected > this.#limit()) {
      const due = this.#nextRestore;
      for (const h of health.values()) if (h.ejectedUntil === due) h.ejectedUntil = 0;
      this.#recount();
      restored = true;
    }
    if (restored) this.#pushToInner();
  }

  ejected(): T[] {
    return this.#all.filter((it) => (this.#health.get(it.id)?.ejectedUntil ?? 0) > 0);
  }

  stats(): InstanceStats[] {
    return (this.inner as Partial<BalancerPicker<T>>).stats?.() ?? [];
  }

  #limit(): number {
    const n = this.#all.length;
    if (this.s.maxEjectionPercent === 0) return 0;
    return Math.min(n - 1, Math.max(1, Math.floor((n * this.s.maxEjectionPercent) / 100)));
  }

  #eject(id: string, h: Health): void {
    const now = this.s.clock.now();
    const instance = this.#all.find((it) => it.id === id) as T;
    if (this.#ejected + 1 > this.#limit()) {
      h.failures = 0;
      this.events.emit('ejectionCapped', {
        name: this.name,
        instance,
        ejectedCount: this.#ejected,
      });
      return;
    }
    if (h.restoredAt > 0 && now - h.restoredAt >= this.s.maxEjectionMs) h.ejections = 0;
    h.ejections++;
    const forMs = Math.min(this.s.maxEjectionMs, this.s.baseEjectionMs * 2 ** (h.ejections - 1));
    h.failures = 0;
    h.ejectedAt = now;
    h.ejectedUntil = now + forMs;
    this.#pushToInner();
    this.events.emit('ejected', {
      name: this.name,
      instance,
      forMs,
      ejections: h.ejections,
      ejectedCount: this.#ejected,
    });
  }

  #restoreDue(): void {
    const now = this.s.clock.now();
    const back: { instance: T; ejectedMs: number }[] = [];
    for (const it of this.#all) {
      const h = this.#health.get(it.id) as Health;
      if (h.ejectedUntil > 0 && h.ejectedUntil <= now) {
        back.push({ instance: it, ejectedMs: now - h.ejectedAt });
        h.ejectedUntil = 0;
        h.failures = 0;
        h.restoredAt = now;
      }
    }
    this.#pushToInner();
    for (const b of back) this.events.emit('restored', { name: this.name, ...b });
  }

  #pushToInner(): void {
    this.inner.update(
      this.#all.filter((it) => (this.#health.get(it.id) as Health).ejectedUntil === 0),
    );
    this.#recount();
  }

  #recount(): void {
    let ejected = 0;
    let next = Number.POSITIVE_INFINITY;
    for (const h of this.#health.values()) {
      if (h.ejectedUntil > 0) {
        ejected++;
        if (h.ejectedUntil < next) next = h.ejectedUntil;
      }
    }
    this.#ejected = ejected;
    this.#nextRestore = next;
  }
}
