// What one watch sees: the registry, the metric prefix and buckets, and the labels every
// series of the watched block carries (the `constLabels`, then `name`).
import type { Gauge, Registry } from 'prom-client';
import type { EventMap, EventSource } from '../core/index.js';
import { type Cell, counterFamily, gauge, histogram, type Labels, onCollect } from './families.js';
import type { CellHistogram } from './histogram.js';

/** @internal A counter seen from one watch: `series(extra)` is the cell of `extra`'s labels. */
export interface ScopedCounter {
  /** The cell of this block's series with these extra labels (cached by the caller). */
  series(extra?: Labels): Cell;
  /** Run `hook` at the start of every scrape of this counter; returns its remover. */
  onCollect(hook: () => void): () => void;
}

/** @internal Everything a block's mapping needs to create and label its series. */
export class Scope {
  readonly registry: Registry;
  readonly prefix: string;
  readonly buckets: readonly number[];
  /** `constLabels` plus `name`: the labels of every series of this block. */
  readonly base: Labels;
  readonly #baseNames: string[];

  constructor(
    registry: Registry,
    prefix: string,
    buckets: readonly number[],
    constLabels: Labels,
    name: string,
  ) {
    this.registry = registry;
    this.prefix = prefix;
    this.buckets = buckets;
    this.base = { ...constLabels, name };
    this.#baseNames = Object.keys(this.base);
  }

  /** The labels of one series: the base labels, then `extra`. */
  labels(extra?: Labels): Labels {
    return extra === undefined ? this.base : { ...this.base, ...extra };
  }

  counter(suffix: string, help: string, extraNames: readonly string[] = []): ScopedCounter {
    const family = counterFamily(this.registry, this.prefix + suffix, help, [
      ...this.#baseNames,
      ...extraNames,
    ]);
    return {
      series: (extra) => family.cell(this.labels(extra)),
      onCollect: (hook) => family.onCollect(hook),
    };
  }

  gauge(suffix: string, help: string, extraNames: readonly string[] = []): Gauge<string> {
    return gauge(this.registry, this.prefix + suffix, help, [...this.#baseNames, ...extraNames]);
  }

  histogram(
    suffix: string,
    help: string,
    extraNames: readonly string[] = [],
    buckets: readonly number[] = this.buckets,
  ): CellHistogram {
    return histogram(
      this.registry,
      this.prefix + suffix,
      help,
      [...this.#baseNames, ...extraNames],
      buckets,
    );
  }

  /** Run `hook` before every scrape of `metric`; returns its remover. */
  onCollect(metric: Gauge<string>, hook: () => void): () => void {
    return onCollect(metric, hook);
  }
}

/**
 * @internal
 * A cache of cells for labels that vary per event (a switch's target, a rejection's
 * code), so each label set is looked up once per watch.
 */
export function cellsBy(counter: ScopedCounter): (key: string, extra: () => Labels) => Cell {
  const cells = new Map<string, Cell>();
  return (key, extra) => {
    let cell = cells.get(key);
    if (cell === undefined) {
      cell = counter.series(extra());
      cells.set(key, cell);
    }
    return cell;
  };
}

/** @internal Subscribe listeners to an event source; returns one function removing them all. */
export function subscribe<E extends EventMap>(
  events: EventSource<E>,
  listeners: { [K in keyof E]?: (payload: E[K]) => void },
): () => void {
  const offs: (() => void)[] = [];
  for (const event of Object.keys(listeners) as (keyof E)[]) {
    offs.push(events.on(event, listeners[event]!));
  }
  return () => {
    for (const off of offs) off();
  };
}
