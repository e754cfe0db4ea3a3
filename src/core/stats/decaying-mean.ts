// An exponentially decaying mean, by samples or by time.
import { z } from 'zod';
import { parseOptions } from '../options.js';

/** A {@link Decay} in samples: a sample's weight halves after this many later samples. */
export interface DecayByCalls {
  /** Samples after which an old sample's weight has halved. */
  halfLifeCalls: number;
  /** Not with `halfLifeCalls`. */
  halfLifeMs?: never;
  /** Not with `halfLifeCalls`. */
  alpha?: never;
}

/** A {@link Decay} in time: a sample's weight halves after this long. */
export interface DecayByTime {
  /** Milliseconds after which an old sample's weight has halved. */
  halfLifeMs: number;
  /** Not with `halfLifeMs`. */
  halfLifeCalls?: never;
  /** Not with `halfLifeMs`. */
  alpha?: never;
}

/** A {@link Decay} as a raw EWMA factor. */
export interface DecayByAlpha {
  /** Weight of each new sample, in (0, 1). */
  alpha: number;
  /** Not with `alpha`. */
  halfLifeCalls?: never;
  /** Not with `alpha`. */
  halfLifeMs?: never;
}

/** How fast a {@link DecayingMean} forgets: by samples, by time, or a raw factor. */
export type Decay = DecayByCalls | DecayByTime | DecayByAlpha;

/**
 * Zod schema of a {@link Decay}, for a module's options (exactly one of
 * `halfLifeCalls`, `halfLifeMs`, `alpha`).
 *
 * @example
 * ```ts
 * import { z } from 'zod';
 * import { decaySchema } from 'girder/core';
 *
 * const schema = z.strictObject({ decay: decaySchema.default({ halfLifeCalls: 10 }) });
 * ```
 */
export const decaySchema = z
  .strictObject({
    halfLifeCalls: z.number().finite().positive().optional(),
    halfLifeMs: z.number().finite().positive().optional(),
    alpha: z.number().gt(0).lt(1).optional(),
  })
  .superRefine((d, ctx) => {
    const given = (['halfLifeCalls', 'halfLifeMs', 'alpha'] as const).filter(
      (k) => d[k] !== undefined,
    );
    if (given.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        path: given.length > 1 ? [given[1]!] : [],
        message: 'give exactly one of halfLifeCalls, halfLifeMs, alpha',
      });
    }
  }) as unknown as z.ZodType<Decay>;

/**
 * A decaying average: each sample's weight shrinks by a factor per newer sample (or
 * per ms), and the value is the weighted mean. Unlike the textbook `v += a * (x - v)`
 * it has no start-up bias (the first sample is the value) and, with time decay,
 * samples taken in the same millisecond average instead of the last one winning. A
 * clock that steps backwards counts as no time passing.
 *
 * @example
 * ```ts
 * import { DecayingMean } from 'girder/core';
 *
 * const latency = DecayingMean.of({ halfLifeMs: 5_000 });
 * latency.add(120, Date.now());
 * latency.add(80, Date.now());
 * latency.value; // 100 (both samples in the same millisecond)
 * ```
 */
export class DecayingMean {
  readonly #perSample: number | undefined;
  readonly #halfLifeMs: number | undefined;
  #sum = 0;
  #weight = 0;
  #last = 0;
  #count = 0;

  /** Throws `InvalidOptionsError` for a malformed `decay`. */
  constructor(decay: Decay) {
    const d = parseOptions('DecayingMean', decaySchema, decay) as Partial<
      Record<'alpha' | 'halfLifeCalls' | 'halfLifeMs', number>
    >;
    if (d.alpha !== undefined) this.#perSample = 1 - d.alpha;
    else if (d.halfLifeCalls !== undefined) this.#perSample = 2 ** (-1 / d.halfLifeCalls);
    else this.#halfLifeMs = d.halfLifeMs;
  }

  /** Same as `new DecayingMean(decay)`. */
  static of(decay: Decay): DecayingMean {
    return new DecayingMean(decay);
  }

  /** Samples added since creation or the last {@link DecayingMean.reset}. */
  get count(): number {
    return this.#count;
  }

  /** The weighted mean, or `undefined` before the first sample. */
  get value(): number | undefined {
    return this.#count === 0 ? undefined : this.#sum / this.#weight;
  }

  /** Add a sample `x` taken at time `now` (used only by time decay). */
  add(x: number, now = 0): void {
    const keep =
      this.#perSample ??
      (this.#count === 0 ? 0 : 2 ** (-Math.max(0, now - this.#last) / this.#halfLifeMs!));
    this.#sum = this.#sum * keep + x;
    this.#weight = this.#weight * keep + 1;
    this.#last = now;
    this.#count++;
  }

  /** Forget every sample. */
  reset(): void {
    this.#sum = 0;
    this.#weight = 0;
    this.#count = 0;
  }
}
