// A histogram cheap enough for hot paths. prom-client's `observe(labels, v)` hashes the
// label object on every call; here a watch holds one cell per label set and an
// observation is a bucket scan and three additions. The object speaks prom-client's
// metric contract (`name`, `help`, `type`, `get()`, `reset()`), so a Registry renders
// it like its own histograms (`_bucket` with `le`, `_sum`, `_count`).
import type { Labels } from './families.js';

/** @internal One sample, as prom-client's registry renders it. */
export interface Sample {
  labels: Record<string, string | number>;
  value: number;
  metricName: string;
}

/** @internal What `get()` answers: prom-client's `MetricObjectWithValues` shape. */
export interface HistogramData {
  name: string;
  help: string;
  type: 'histogram';
  values: Sample[];
  aggregator: 'sum';
}

/** @internal One series of a {@link CellHistogram}. */
export interface HistogramCell {
  readonly labels: Labels;
  /** Observations per bucket (not cumulative); the last slot is `+Inf`. */
  readonly counts: number[];
  sum: number;
  count: number;
}

/** @internal A histogram whose series are {@link HistogramCell}s. */
export class CellHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly string[];
  readonly upperBounds: readonly number[];
  readonly #cells = new Map<string, HistogramCell>();

  constructor(
    name: string,
    help: string,
    labelNames: readonly string[],
    buckets: readonly number[],
  ) {
    this.name = name;
    this.help = help;
    this.labelNames = labelNames;
    this.upperBounds = [...buckets];
  }

  /** The cell of `labels` (the same cell for the same labels). */
  cell(labels: Labels): HistogramCell {
    let key = '';
    for (const k in labels) key += `${k}\u0000${labels[k]}\u0001`;
    let cell = this.#cells.get(key);
    if (cell === undefined) {
      cell = { labels, counts: new Array(this.upperBounds.length + 1).fill(0), sum: 0, count: 0 };
      this.#cells.set(key, cell);
    }
    return cell;
  }

  /** Record one observation `value` into `cell`. */
  observe(cell: HistogramCell, value: number): void {
    const bounds = this.upperBounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    cell.counts[i]!++;
    cell.sum += value;
    cell.count++;
  }

  /** prom-client's metric contract: every series as samples. */
  async get(): Promise<HistogramData> {
    const values: Sample[] = [];
    for (const cell of this.#cells.values()) {
      let cumulative = 0;
      for (let i = 0; i <= this.upperBounds.length; i++) {
        cumulative += cell.counts[i]!;
        const le = i < this.upperBounds.length ? this.upperBounds[i]! : '+Inf';
        values.push({
          labels: { ...cell.labels, le },
          value: cumulative,
          metricName: `${this.name}_bucket`,
        });
      }
      values.push({ labels: cell.labels, value: cell.sum, metricName: `${this.name}_sum` });
      values.push({ labels: cell.labels, value: cell.count, metricName: `${this.name}_count` });
    }
    return {
      name: this.name,
      help: this.help,
      type: 'histogram',
      values,
      aggregator: 'sum',
    };
  }

  /** prom-client's `registry.resetMetrics()`: every series back to zero. */
  reset(): void {
    for (const cell of this.#cells.values()) {
      cell.counts.fill(0);
      cell.sum = 0;
      cell.count = 0;
    }
  }
}
