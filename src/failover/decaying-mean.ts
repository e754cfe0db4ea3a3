/**
 * How fast an average forgets old samples. Give exactly one of:
 * - `halfLifeCalls`: a sample's weight halves after this many newer samples;
 * - `halfLifeMs`: a sample's weight halves after this much time (for bursty or sparse
 *   traffic, where "the last 10 calls" may span an hour);
 * - `alpha`: the classic EWMA smoothing factor in (0, 1), weight of the newest sample.
 */
export type Decay = DecayByCalls | DecayByTime | DecayByAlpha;

/** A {@link Decay} in calls: a sample's weight halves after this many later samples. */
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
  /** Weight of each new sample, in (0, 1]. */
  alpha: number;
  /** Not with `alpha`. */
  halfLifeCalls?: never;
  /** Not with `alpha`. */
  halfLifeMs?: never;
}

/**
 * A decaying average: each sample's weight shrinks by `factor` per newer sample (or per
 * ms), and the value is the weighted mean. Unlike the textbook `v += a * (x - v)` it has
 * no start-up bias (the first sample is the value) and, with time decay, samples taken
 * in the same millisecond average instead of the last one winning.
 *
 * @internal
 */
export class DecayingMean {
  #sum = 0;
  #weight = 0;
  #last = 0;
  count = 0;

  constructor(
    private readonly perCall: number | undefined,
    private readonly halfLifeMs: number | undefined,
  ) {}

  static of(decay: Decay): DecayingMean {
    if (decay.alpha !== undefined) return new DecayingMean(1 - decay.alpha, undefined);
    if (decay.halfLifeCalls !== undefined) {
      return new DecayingMean(2 ** (-1 / decay.halfLifeCalls), undefined);
    }
    return new DecayingMean(undefined, decay.halfLifeMs);
  }

  add(x: number, now: number): void {
    const keep =
      this.perCall ??
      (this.count === 0 ? 0 : 2 ** (-Math.max(0, now - this.#last) / this.halfLifeMs!));
    this.#sum = this.#sum * keep + x;
    this.#weight = this.#weight * keep + 1;
    this.#last = now;
    this.count++;
  }

  get value(): number | undefined {
    return this.count === 0 ? undefined : this.#sum / this.#weight;
  }

  reset(): void {
    this.#sum = 0;
    this.#weight = 0;
    this.count = 0;
  }
}
