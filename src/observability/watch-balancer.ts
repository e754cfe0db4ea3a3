// Metrics and trace events of girder/balancer. Pickers emit nothing per pick (the hot
// path stays allocation-free), so picks per instance are read from `stats()` at scrape
// time; ejections and `balanced` calls come from events.
import {
  type Attributes,
  context,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import type { BalancedEvents, EjectionEvents, InstanceStats } from '../balancer/index.js';
import type { EventSource } from '../core/index.js';
import { cellsBy, type Scope, subscribe } from './scope.js';
import { type Bag, isFn } from './shape.js';

/** The girder/balancer kinds of block. @internal */
export type BalancerBlockKind = 'picker' | 'balanced';

/** @internal A picker as the mapping reads it. */
export interface PickerBlock {
  events: EventSource<EjectionEvents>;
  stats(): InstanceStats[];
  ejected?: () => unknown[];
}

/** @internal Which girder/balancer block `block` is (a picker or a `balanced` function), if any. */
export function balancerKindOf(block: unknown): BalancerBlockKind | undefined {
  if ((typeof block !== 'object' && typeof block !== 'function') || block === null)
    return undefined;
  const b = block as Bag;
  const events = b.events as Bag | undefined;
  if (typeof events !== 'object' || events === null || !isFn(events.on)) return undefined;
  if (typeof block === 'function' && typeof b.picker === 'object' && isFn(b.close))
    return 'balanced';
  if (isFn(b.pick) && isFn(b.report) && isFn(b.update) && isFn(b.stats)) return 'picker';
  return undefined;
}

/**
 * @internal Map a picker to `<prefix>balancer_picks_total{instance}` (read from `stats()`
 * at scrape time), `<prefix>balancer_instances`, and, for `withEjection`,
 * `<prefix>balancer_ejections_total` and `<prefix>balancer_ejected`.
 */
export function watchPicker(scope: Scope, picker: PickerBlock): () => void {
  const picksCounter = scope.counter(
    'balancer_picks_total',
    'Picks per instance (read from the picker at scrape time).',
    ['instance'],
  );
  const picks = cellsBy(picksCounter);
  const last = new Map<string, number>();
  const offPicks = picksCounter.onCollect(() => {
    for (const s of picker.stats()) {
      const before = last.get(s.id) ?? 0;
      // A count below the last one means the instance left and came back: it restarted at 0.
      const delta = s.picks >= before ? s.picks - before : s.picks;
      last.set(s.id, s.picks);
      if (delta > 0) picks(s.id, () => ({ instance: s.id })).value += delta;
    }
  });
  const instances = scope.gauge('balancer_instances', 'Instances the picker currently picks from.');
  const offInstances = scope.onCollect(instances, () => {
    instances.set(scope.base, picker.stats().length);
  });
  const offs = [offPicks, offInstances];
  if (isFn(picker.ejected)) {
    const ejectedGauge = scope.gauge(
      'balancer_ejected',
      'Instances ejected now (outlier ejection).',
    );
    offs.push(
      scope.onCollect(ejectedGauge, () => {
        ejectedGauge.set(scope.base, (picker.ejected as () => unknown[])().length);
      }),
    );
    const ejections = cellsBy(
      scope.counter(
        'balancer_ejections_total',
        'Outlier ejections, by instance and outcome (ejected, capped: kept in by maxEjectionPercent).',
        ['instance', 'outcome'],
      ),
    );
    offs.push(
      subscribe(picker.events, {
        ejected: (e: EjectionEvents['ejected']) => {
          ejections(`${e.instance.id}/ejected`, () => ({
            instance: e.instance.id,
            outcome: 'ejected',
          })).value++;
        },
        ejectionCapped: (e: EjectionEvents['ejectionCapped']) => {
          ejections(`${e.instance.id}/capped`, () => ({
            instance: e.instance.id,
            outcome: 'capped',
          })).value++;
        },
      }),
    );
  }
  return () => {
    for (const off of offs) off();
  };
}

/**
 * @internal Map a `balanced` function to `<prefix>balancer_calls_total{outcome}` and
 * `<prefix>balancer_call_duration_seconds{outcome}`.
 */
export function watchBalanced(scope: Scope, events: EventSource<BalancedEvents>): () => void {
  const calls = cellsBy(
    scope.counter(
      'balancer_calls_total',
      'Attempts of balanced calls, by outcome (ok, failure, rejected, cancelled, no_instance).',
      ['outcome'],
    ),
  );
  const duration = scope.histogram(
    'balancer_call_duration_seconds',
    'Duration of each attempt of a balanced call, seconds, by outcome.',
    ['outcome'],
  );
  const durationCells = new Map<string, ReturnType<typeof duration.cell>>();
  return subscribe(events, {
    call: (e: BalancedEvents['call']) => {
      calls(e.outcome, () => ({ outcome: e.outcome })).value++;
      let cell = durationCells.get(e.outcome);
      if (cell === undefined) {
        cell = duration.cell(scope.labels({ outcome: e.outcome }));
        durationCells.set(e.outcome, cell);
      }
      duration.observe(cell, e.latencyMs / 1000);
    },
    noInstance: () => {
      calls('no_instance', () => ({ outcome: 'no_instance' })).value++;
    },
  });
}

/**
 * @internal Trace a balancer block: a `girder.balancer.call` span per attempt of a
 * `balanced` call (back-dated to its start), and `girder.balancer.ejected` /
 * `girder.balancer.restored` events on the active span for an ejecting picker.
 */
export function traceBalancer(
  tracer: Tracer,
  kind: BalancerBlockKind,
  events: EventSource<never>,
  name: string,
): () => void {
  const named = { 'girder.name': name };
  if (kind === 'balanced') {
    return subscribe(events as EventSource<BalancedEvents>, {
      call: (e: BalancedEvents['call']) => {
        const endTime = performance.timeOrigin + performance.now();
        const attributes: Attributes = {
          ...named,
          'girder.balancer.instance': e.instance.id,
          'girder.balancer.address': e.instance.address,
          'girder.balancer.attempt': e.attempt,
          'girder.balancer.outcome': e.outcome,
        };
        const span = tracer.startSpan(
          'girder.balancer.call',
          { kind: SpanKind.CLIENT, startTime: endTime - e.latencyMs, attributes },
          context.active(),
        );
        if (e.outcome === 'failure') {
          if (e.error instanceof Error) span.recordException(e.error);
          span.setStatus({ code: SpanStatusCode.ERROR, message: String(e.error) });
        }
        span.end(endTime);
      },
    });
  }
  return subscribe(events as EventSource<EjectionEvents>, {
    ejected: (e: EjectionEvents['ejected']) =>
      trace.getActiveSpan()?.addEvent('girder.balancer.ejected', {
        ...named,
        'girder.balancer.instance': e.instance.id,
        'girder.balancer.ejected_for_ms': e.forMs,
      }),
    restored: (e: EjectionEvents['restored']) =>
      trace.getActiveSpan()?.addEvent('girder.balancer.restored', {
        ...named,
        'girder.balancer.instance': e.instance.id,
      }),
  });
}
