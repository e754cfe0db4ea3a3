// A small Prometheus text-format registry (exposition format 0.0.4), written by hand:
// counters, gauges read at scrape time, and histograms. Enough for /metrics; the
// girder/observability issue will bring the real thing.

type Labels = Record<string, string | number>;

const escapeLabel = (v: string) =>
  v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
const labelText = (labels: Labels) => {
  const entries = Object.entries(labels);
  if (entries.length === 0) return '';
  return `{${entries.map(([k, v]) => `${k}="${escapeLabel(String(v))}"`).join(',')}}`;
};
const keyOf = (labels: Labels) =>
  JSON.stringify(Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)));
const num = (n: number) =>
  Number.isFinite(n) ? String(n) : n > 0 ? '+Inf' : n < 0 ? '-Inf' : 'NaN';

interface Metric {
  render(): string[];
}

export interface Counter {
  inc(labels?: Labels, by?: number): void;
  /** Current value for these labels (tests). */
  get(labels?: Labels): number;
}

export interface Histogram {
  observe(value: number, labels?: Labels): void;
}

export class MetricsRegistry {
  readonly #metrics: Metric[] = [];
  readonly #names = new Set<string>();

  #header(name: string, help: string, type: string) {
    if (this.#names.has(name)) throw new Error(`metric ${name} registered twice`);
    this.#names.add(name);
    return [
      `# HELP ${name} ${help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`,
      `# TYPE ${name} ${type}`,
    ];
  }

  counter(name: string, help: string): Counter {
    const header = this.#header(name, help, 'counter');
    const values = new Map<string, { labels: Labels; value: number }>();
    this.#metrics.push({
      render: () =>
        values.size === 0
          ? []
          : [
              ...header,
              ...[...values.values()].map((v) => `${name}${labelText(v.labels)} ${num(v.value)}`),
            ],
    });
    return {
      inc(labels = {}, by = 1) {
        const key = keyOf(labels);
        const entry = values.get(key);
        if (entry) entry.value += by;
        else values.set(key, { labels: { ...labels }, value: by });
      },
      get: (labels = {}) => values.get(keyOf(labels))?.value ?? 0,
    };
  }

  /** A gauge whose samples are read when scraped. */
  gauge(
    name: string,
    help: string,
    collect: () => Array<{ labels?: Labels; value: number }>,
  ): void {
    const header = this.#header(name, help, 'gauge');
    this.#metrics.push({
      render: () => {
        const samples = collect();
        return samples.length === 0
          ? []
          : [
              ...header,
              ...samples.map((s) => `${name}${labelText(s.labels ?? {})} ${num(s.value)}`),
            ];
      },
    });
  }

  histogram(name: string, help: string, buckets: readonly number[]): Histogram {
    const header = this.#header(name, help, 'histogram');
    const bounds = [...buckets].sort((a, b) => a - b);
    const series = new Map<
      string,
      { labels: Labels; counts: number[]; sum: number; count: number }
    >();
    this.#metrics.push({
      render: () => {
        if (series.size === 0) return [];
        const lines = [...header];
        for (const s of series.values()) {
          let cumulative = 0;
          bounds.forEach((b, i) => {
            cumulative += s.counts[i]!;
            lines.push(`${name}_bucket${labelText({ ...s.labels, le: num(b) })} ${cumulative}`);
          });
          lines.push(`${name}_bucket${labelText({ ...s.labels, le: '+Inf' })} ${s.count}`);
          lines.push(`${name}_sum${labelText(s.labels)} ${num(s.sum)}`);
          lines.push(`${name}_count${labelText(s.labels)} ${s.count}`);
        }
        return lines;
      },
    });
    return {
      observe(value, labels = {}) {
        const key = keyOf(labels);
        let s = series.get(key);
        if (!s) {
          s = { labels: { ...labels }, counts: bounds.map(() => 0), sum: 0, count: 0 };
          series.set(key, s);
        }
        const i = bounds.findIndex((b) => value <= b);
        if (i !== -1) s.counts[i]!++;
        s.sum += value;
        s.count++;
      },
    };
  }

  /** The exposition text. */
  render(): string {
    const lines = this.#metrics.flatMap((m) => m.render());
    return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
  }
}

/** Content type of the text exposition format. */
export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
