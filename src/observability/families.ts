// The one place girder creates prom-client metrics. Metrics are cached per registry, so
// asking twice (two `metrics()` on one registry, two watches) returns the one already
// registered: prom-client's "already registered" error cannot happen through girder.
//
// Counters on hot paths are not incremented through prom-client at event time (its
// `inc(labels)` hashes the label object on every call). A watch holds one `Cell` per
// label set and bumps a plain number; the counter's `collect` hook, which prom-client
// runs on every scrape, adds what each cell gained since the last scrape. So a scrape
// is always exact, scraping twice never double-counts, and the hot path pays one add.
import { Counter, Gauge, type Metric, type Registry } from 'prom-client';
import { InvalidArgumentError } from '../core/index.js';
import { CellHistogram } from './histogram.js';

/** Label values of one series. */
export type Labels = Record<string, string>;

/** @internal One series of a counter, counted in process and flushed on scrape. */
export interface Cell {
  /** Events counted so far. */
  value: number;
  /** Part of `value` already added to the prom-client counter. */
  reported: number;
  readonly labels: Labels;
}

/** @internal A counter whose series are {@link Cell}s. */
export interface CounterFamily {
  readonly metric: Counter<string>;
  /** The cell of `labels` (created on first use; the same cell for the same labels). */
  cell(labels: Labels): Cell;
  /**
   * Run `hook` at the start of every scrape, before the cells are flushed (for counts a
   * block keeps itself and a watch copies into cells); returns its remover.
   */
  onCollect(hook: () => void): () => void;
}

interface Entry {
  readonly kind: 'counter' | 'gauge' | 'histogram';
  readonly labelNames: string;
  readonly value: unknown;
  /** The object registered in the registry. */
  readonly metric: Metric;
}

const perRegistry = new WeakMap<Registry, Map<string, Entry>>();

const keyOf = (labels: Labels): string => {
  let key = '';
  for (const k in labels) key += `${k}\u0000${labels[k]}\u0001`;
  return key;
};

function cached<T>(
  registry: Registry,
  name: string,
  kind: Entry['kind'],
  labelNames: readonly string[],
  create: () => T,
  metricOf: (value: T) => unknown = (value) => value,
): T {
  let entries = perRegistry.get(registry);
  if (entries === undefined) {
    entries = new Map();
    perRegistry.set(registry, entries);
  }
  const names = [...labelNames].sort().join(',');
  const entry = entries.get(name);
  if (entry !== undefined) {
    if (entry.kind !== kind || entry.labelNames !== names) {
      throw new InvalidArgumentError(
        'metric',
        `${name} is already a ${entry.kind} with labels [${entry.labelNames}] in this registry`,
      );
    }
    const current = registry.getSingleMetric(name);
    // Someone cleared the registry (`clear()`, `removeSingleMetric`): register ours again
    // rather than count into a metric no scrape sees.
    if (current === undefined) registry.registerMetric(entry.metric);
    else if (current !== entry.metric) throw foreign(name);
    return entry.value as T;
  }
  if (registry.getSingleMetric(name) !== undefined) throw foreign(name);
  const value = create();
  entries.set(name, { kind, labelNames: names, value, metric: metricOf(value) as Metric });
  return value;
}

const foreign = (name: string) =>
  new InvalidArgumentError(
    'metric',
    `${name} is already registered in this registry by someone other than girder`,
  );

/** @internal The counter `name` of `registry`, created once. */
export function counterFamily(
  registry: Registry,
  name: string,
  help: string,
  labelNames: readonly string[],
): CounterFamily {
  return cached(
    registry,
    name,
    'counter',
    labelNames,
    () => {
      const cells = new Map<string, Cell>();
      const hooks = new Set<() => void>();
      const metric = new Counter({
        name,
        help,
        labelNames: [...labelNames],
        registers: [registry],
        collect() {
          for (const hook of hooks) hook();
          for (const cell of cells.values()) {
            const delta = cell.value - cell.reported;
            if (delta > 0) {
              cell.reported = cell.value;
              metric.inc(cell.labels, delta);
            }
          }
        },
      });
      return {
        metric,
        cell(labels: Labels): Cell {
          const key = keyOf(labels);
          let cell = cells.get(key);
          if (cell === undefined) {
            cell = { value: 0, reported: 0, labels };
            cells.set(key, cell);
            // The series shows (at 0) from the first scrape, so rate() sees its first increase.
            metric.inc(labels, 0);
          }
          return cell;
        },
        onCollect(hook: () => void): () => void {
          const own = () => hook();
          hooks.add(own);
          return () => hooks.delete(own);
        },
      };
    },
    (family) => family.metric,
  );
}

const gaugeHooks = new WeakMap<Gauge<string>, Set<() => void>>();

/** @internal The gauge `name` of `registry`, created once. */
export function gauge(
  registry: Registry,
  name: string,
  help: string,
  labelNames: readonly string[],
): Gauge<string> {
  return cached(registry, name, 'gauge', labelNames, () => {
    const hooks = new Set<() => void>();
    const metric = new Gauge({
      name,
      help,
      labelNames: [...labelNames],
      registers: [registry],
      collect() {
        for (const hook of hooks) hook();
      },
    });
    gaugeHooks.set(metric, hooks);
    return metric;
  });
}

/** @internal Run `hook` on every scrape of `metric` (a gauge from {@link gauge}); returns its remover. */
export function onCollect(metric: Gauge<string>, hook: () => void): () => void {
  const hooks = gaugeHooks.get(metric);
  if (hooks === undefined) return () => {};
  const own = () => hook();
  hooks.add(own);
  return () => hooks.delete(own);
}

/** @internal The histogram `name` of `registry`, created once (the first caller's buckets win). */
export function histogram(
  registry: Registry,
  name: string,
  help: string,
  labelNames: readonly string[],
  buckets: readonly number[],
): CellHistogram {
  return cached(registry, name, 'histogram', labelNames, () => {
    const metric = new CellHistogram(name, help, [...labelNames], buckets);
    registry.registerMetric(metric as unknown as Metric);
    return metric;
  });
}
