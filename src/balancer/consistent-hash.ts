// Consistent hashing on a ring of virtual nodes, with optional bounded loads (Mirrokni,
// Thorup and Zadimoghaddam, 2016): a key goes to the first point clockwise from its hash
// whose instance has room; room means fewer than ceil(c × (in-flight + 1) / n) calls in
// flight, so no instance carries more than c times the average and keys move only when
// their instance is full.
import { z } from 'zod';
import { functionSchema, parseOptions } from '../core/index.js';
import type { Instance } from '../registry/types.js';
import { BasePicker, carry } from './base-picker.js';
import { hash32 } from './hash.js';
import { nameSchema } from './shared.js';
import type { BalancerPicker, CallReport, PickContext } from './types.js';

/**
 * Options of {@link consistentHash}.
 *
 * @example
 * ```ts
 * const opts: ConsistentHashOptions = { boundedLoad: 1.25, replicas: 160 };
 * ```
 */
export interface ConsistentHashOptions {
  /**
   * The load factor c, at least 1: an instance takes at most ceil(c × average
   * in-flight) calls; a key whose instance is full walks clockwise to
   * the next with room. Omit for plain consistent hashing (no bound). 1.25 is a common
   * choice: at most 25% over average, and few keys move.
   */
  boundedLoad?: number;
  /** Virtual nodes per instance on the ring (more = evener split, bigger ring). Default 160. */
  replicas?: number;
  /** Hash of keys and ring points to a uint32. Default {@link hash32}. */
  hash?: (key: string) => number;
  /** Name, for logs and metrics. */
  name?: string;
}

const schema = z.strictObject({
  boundedLoad: z.number().finite().min(1).max(100).optional(),
  replicas: z.number().int().min(1).max(10_000).default(160),
  hash: functionSchema<(key: string) => number>().default(() => hash32),
  name: nameSchema,
});

/**
 * What {@link consistentHash} returns: a picker with in-flight counting (for the load
 * bound) and a view of each instance's in-flight count.
 *
 * @example
 * ```ts
 * const picker = consistentHash({ boundedLoad: 1.25 });
 * const target = picker.pick({ key: userId });
 * ```
 */
export interface ConsistentHash<T extends Instance = Instance> extends BalancerPicker<T> {
  /** Counts a call starting on `instance` (the load bound needs it). */
  start(instance: T): void;
  /** Calls in flight on `instance` as this picker counts them, or `undefined` when unknown. */
  inFlight(instance: T): number | undefined;
}

/**
 * Consistent hashing keyed by `ctx.key`, with optional bounded loads.
 *
 * Each instance owns `replicas` points on a 32-bit ring, at `hash(id + '#' + k)`; a key
 * goes to the first point at or after `hash(key)`. Adding or removing one of n instances
 * moves about 1/n of the keys. Weights are ignored; ids, not addresses, place the points
 * so an instance that moves keeps its keys.
 *
 * With `boundedLoad: c`, a call is placed only on an instance with fewer than
 * `ceil(c × (m + 1) / n)` calls in flight (m in flight in total): the walk goes on
 * clockwise past full instances. Some instance always has room, so a pick never fails
 * for load. In-flight counts come from `start` and `report` (`balanced` calls both).
 *
 * A pick without a key uses round robin (documented fallback, so a call missing its
 * affinity key is still served). An empty key is a key like any other.
 *
 * @throws InvalidOptionsError naming each bad option.
 *
 * @example
 * ```ts
 * import { consistentHash } from 'girder/balancer';
 *
 * const picker = consistentHash({ boundedLoad: 1.25 });
 * picker.update(discovery.instances());
 * const target = picker.pick({ key: `cart:${userId}` });
 * ```
 */
export function consistentHash<T extends Instance = Instance>(
  options: ConsistentHashOptions = {},
): ConsistentHash<T> {
  const opts = parseOptions('consistentHash', schema, options);
  return new Ring<T>(opts.boundedLoad, opts.replicas, opts.hash, opts.name);
}

class Ring<T extends Instance> extends BasePicker<T> implements ConsistentHash<T> {
  readonly kind = 'consistent_hash';
  #points = new Uint32Array(0);
  #owners = new Int32Array(0);
  #active = new Int32Array(0);
  #total = 0;
  #next = 0;

  constructor(
    private readonly bound: number | undefined,
    private readonly replicas: number,
    private readonly hash: (key: string) => number,
    name: string | undefined,
  ) {
    super(name);
  }

  // Typed arrays are read into locals once and the pick is counted inline: through the
  // shared `chosen()` helper the ring ran at 0.85x a plain sorted-object ring.
  pick(ctx?: PickContext): T | undefined {
    const table = this.table;
    const n = table.items.length;
    if (n === 0) return undefined;
    const key = ctx?.key;
    if (key === undefined) {
      const i = this.#next >= n ? 0 : this.#next;
      this.#next = i + 1;
      return this.chosen(i);
    }
    const points = this.#points;
    const h = this.hash(key) >>> 0;
    // First point >= h (binary search), wrapping to 0 past the end.
    const len = points.length;
    let lo = 0;
    let hi = len;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((points[mid] as number) < h) lo = mid + 1;
      else hi = mid;
    }
    const first = lo === len ? 0 : lo;
    const owners = this.#owners;
    let owner = owners[first] as number;
    // An idle owner is always under the bound (capacity is at least 1): no walk needed.
    if (this.bound !== undefined && (this.#active[owner] as number) > 0) {
      owner = this.#boundedOwner(first, n);
    }
    const picks = table.picks;
    picks[owner] = (picks[owner] as number) + 1;
    return table.items[owner] as T;
  }

  /** Walk clockwise from `at` to the first owner below the load bound. */
  #boundedOwner(at: number, n: number): number {
    const owners = this.#owners;
    const active = this.#active;
    const len = owners.length;
    const capacity = Math.ceil(((this.bound as number) * (this.#total + 1)) / n);
    let j = at;
    for (let walked = 0; walked < len; walked++) {
      const owner = owners[j] as number;
      if ((active[owner] as number) < capacity) return owner;
      j = j + 1 === len ? 0 : j + 1;
    }
    // Unreachable while counts are consistent (capacity × n > total); stay safe anyway.
    return owners[at] as number;
  }

  start(instance: T): void {
    const i = this.table.indexOf(instance);
    if (i < 0) return;
    this.#active[i] = (this.#active[i] as number) + 1;
    this.#total++;
  }

  inFlight(instance: T): number | undefined {
    const i = this.table.indexOf(instance);
    return i < 0 ? undefined : this.#active[i];
  }

  protected record(i: number, _report: CallReport): void {
    const a = this.#active[i] as number;
    if (a > 0) {
      this.#active[i] = a - 1;
      this.#total--;
    }
  }

  protected rebuild(from: Int32Array): void {
    this.#active = carry(this.#active, from, (n) => new Int32Array(n));
    let total = 0;
    for (const a of this.#active) total += a;
    this.#total = total;
    const items = this.table.items;
    const r = this.replicas;
    const hashes = new Uint32Array(items.length * r);
    for (let i = 0; i < items.length; i++) {
      const id = (items[i] as T).id;
      for (let k = 0; k < r; k++) hashes[i * r + k] = this.hash(`${id}#${k}`) >>> 0;
    }
    // Sort slot numbers by point; equal points (hash collisions) order by id so every
    // process builds the same ring.
    const order = Array.from({ length: hashes.length }, (_, j) => j);
    order.sort((x, y) => {
      const d = (hashes[x] as number) - (hashes[y] as number);
      if (d !== 0) return d;
      const ix = (items[Math.floor(x / r)] as T).id;
      const iy = (items[Math.floor(y / r)] as T).id;
      return ix < iy ? -1 : ix > iy ? 1 : x - y;
    });
    const points = new Uint32Array(order.length);
    const owners = new Int32Array(order.length);
    for (let j = 0; j < order.length; j++) {
      const slot = order[j] as number;
      points[j] = hashes[slot] as number;
      owners[j] = Math.floor(slot / r);
    }
    this.#points = points;
    this.#owners = owners;
  }
}
