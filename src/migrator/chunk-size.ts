// Adaptive chunk size: after each chunk, scale the size by target/actual time, at most
// doubling or halving in one step (one slow chunk, e.g. a cold cache, must not collapse
// the size), and always within [min, max].

/** @internal Options of {@link ChunkSizer}. */
export interface ChunkSizerOptions {
  readonly initial: number;
  readonly min: number;
  readonly max: number;
  /** Wanted time per chunk; without it the size never changes. */
  readonly targetMs?: number | undefined;
}

/** @internal The chunk size and its adaptation toward a target time per chunk. */
export class ChunkSizer {
  #size: number;
  readonly #options: ChunkSizerOptions;

  constructor(options: ChunkSizerOptions) {
    this.#options = options;
    this.#size = clamp(Math.round(options.initial), options.min, options.max);
  }

  /** Rows the next chunk should hold. */
  get size(): number {
    return this.#size;
  }

  /**
   * Record how long a chunk of `rows` rows took. Chunks that were not full (the end of
   * the table) say little about the rate and are ignored.
   */
  observe(rows: number, durationMs: number): void {
    const { targetMs, min, max } = this.#options;
    if (targetMs === undefined || rows < this.#size / 2) return;
    const ratio = targetMs / Math.max(durationMs, 1);
    const factor = clamp(ratio, 0.5, 2);
    this.#size = clamp(Math.round(this.#size * factor), min, max);
  }
}

function clamp(value: number, low: number, high: number): number {
  return Math.min(high, Math.max(low, value));
}
