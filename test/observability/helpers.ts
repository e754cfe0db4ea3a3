import type { Registry } from 'prom-client';

/** Every sample of one metric as `labels -> value` (labels as `k=v,k=v`, sorted; histograms: `_count` only). */
export async function series(registry: Registry, name: string): Promise<Record<string, number>> {
  const metric = registry.getSingleMetric(name);
  if (metric === undefined) return {};
  const data = await metric.get();
  const out: Record<string, number> = {};
  for (const v of data.values) {
    const sample = v as {
      labels: Record<string, string | number>;
      value: number;
      metricName?: string;
    };
    if (sample.metricName !== undefined && !sample.metricName.endsWith('_count')) {
      if (String(data.type) === 'histogram') continue;
    }
    const key = Object.entries(sample.labels)
      .filter(([k]) => k !== 'le')
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, val]) => `${k}=${val}`)
      .join(',');
    out[key] = sample.value;
  }
  return out;
}

/** The non-zero samples of {@link series}. */
export async function nonZero(registry: Registry, name: string): Promise<Record<string, number>> {
  const all = await series(registry, name);
  return Object.fromEntries(Object.entries(all).filter(([, v]) => v !== 0));
}
