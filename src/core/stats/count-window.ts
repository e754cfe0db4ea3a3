// A count-based sliding window: the outcomes of the last N events in a ring.
import { z } from 'zod';
import { InvalidOptionsError } from '../errors.js';
import { parseOptions } from '../options.js';
import { type LoadOptions, snapshotIssues } from './snapshot.js';

/** Options of a {@link CountWindow}. */
export interface CountWindowOptions {
  /** Number of outcomes held, 1 to 1 000 000. */
  size: number;
}

/** Serialised {@link CountWindow}: its size and the outcomes it holds, oldest first. */
export interface CountWindowSnapshot {
  /** Always `count`. */
  readonly kind: 'count';
  /** Capacity of the window, in outcomes. */
  readonly size: number;
  /** The held outcomes (0 or 1), oldest first; at most `size` of them. */
  readonly outcomes: readonly (0 | 1)[];
}

/** The largest size of a count window. */
export const MAX_COUNT_WINDOW_SIZE = 1_000_000;

const optionsSchema = z.strictObject({
  size: z.number().int().min(1).max(MAX_COUNT_WINDOW_SIZE),
});

/** Zod schema of a {@link CountWindowSnapshot} (shape only; the size is checked by `load`). */
export const countWindowSnapshotSchema = z
  .strictObject({
    kind: z.literal('count'),
    size: z.number().int().min(1).max(MAX_COUNT_WINDOW_SIZE),
    outcomes: z.array(z.union([z.literal(0), z.literal(1)])),
  })
  .superRefine((s, ctx) => {
    if (Number.isInteger(s.size) && s.outcomes.length > s.size) {
      ctx.addIssue({
        code: 'custom',
        path: ['outcomes'],
        message: `holds ${s.outcomes.length} outcomes, more than size (${s.size})`,
      });
    }
  });

/**
 * A count-based sliding window: the outcomes (0 or 1) of the last `size` events in a
 * ring, with the number of ones kept incrementally. No clock, no allocation per event.
 *
 * @example
 * ```ts
 * import { CountWindow } from 'girder/core';
 *
 * const last100 = new CountWindow({ size: 100 });
 * last100.push(true); // a failure
 * last100.push(false); // a success
 * const failureRate = last100.ones / last100.filled; // 0.5
 * ```
 */
export class CountWindow {
  /** Capacity of the ring. */
  readonly size: number;
  readonly #ring: Uint8Array;
  /** Position the next outcome is written to. */
  #pos = 0;
  #filled = 0;
  #ones = 0;

  /** Throws `InvalidOptionsError` naming a bad option. */
  constructor(options: CountWindowOptions) {
    this.size = parseOptions('CountWindow', optionsSchema, options).size;
    this.#ring = new Uint8Array(this.size);
  }

  /** Number of outcomes held (up to `size`). */
  get filled(): number {
    return this.#filled;
  }

  /** Number of ones among the held outcomes. */
  get ones(): number {
    return this.#ones;
  }

  /** Push one outcome, evicting the oldest when full. */
  push(one: boolean): void {
    const ring = this.#ring;
    const pos = this.#pos;
    if (this.#filled === this.size) this.#ones -= ring[pos]!;
    else this.#filled++;
    const bit = one ? 1 : 0;
    ring[pos] = bit;
    this.#ones += bit;
    this.#pos = pos + 1 === this.size ? 0 : pos + 1;
  }

  /** Forget everything. */
  clear(): void {
    this.#ring.fill(0);
    this.#pos = 0;
    this.#filled = 0;
    this.#ones = 0;
  }

  /** Plain-data copy: the size and the held outcomes, oldest first. */
  toJSON(): CountWindowSnapshot {
    const outcomes: (0 | 1)[] = [];
    const start = this.#filled === this.size ? this.#pos : 0;
    for (let i = 0; i < this.#filled; i++) {
      outcomes.push(this.#ring[(start + i) % this.size] === 1 ? 1 : 0);
    }
    return { kind: 'count', size: this.size, outcomes };
  }

  /**
   * Replace the contents with a snapshot from {@link CountWindow.toJSON}. A snapshot of
   * another size, or a malformed one, throws `InvalidOptionsError` naming the field
   * (prefixed with `options.path`) and leaves the window unchanged.
   */
  load(snapshot: unknown, options: LoadOptions = {}): void {
    const path = options.path ?? 'window';
    const owner = options.owner ?? 'CountWindow';
    const parsed = countWindowSnapshotSchema.safeParse(snapshot);
    if (!parsed.success) throw new InvalidOptionsError(owner, snapshotIssues(parsed.error, path));
    if (parsed.data.size !== this.size) {
      throw new InvalidOptionsError(owner, [
        {
          path: `${path}.size`,
          message: `is ${parsed.data.size} but the window is configured with ${this.size}`,
        },
      ]);
    }
    this.clear();
    for (const o of parsed.data.outcomes) this.push(o === 1);
  }
}
