// Metrics of girder/failover's decorators: failover (all three kinds), trafficSplit,
// withRetry, withDeadline, and the shared retry budget. Targets are labelled by index.
import type { EventSource } from '../core/index.js';
import type {
  DeadlineEvents,
  FailoverEvents,
  HealthFailoverControl,
  RetryBudget,
  RetryEvents,
  TrafficSplitControl,
} from '../failover/index.js';
import type { HistogramCell } from './histogram.js';
import { cellsBy, type Scope, subscribe } from './scope.js';
import { type Bag, eventedBag, isFn } from './shape.js';

/** @internal The girder/failover kinds of block. */
export type FailoverBlockKind =
  | 'failover'
  | 'timeoutFailover'
  | 'healthFailover'
  | 'split'
  | 'retry'
  | 'deadline'
  | 'budget';

/**
 * @internal Which girder/failover block `block` is, if any: a decorator by its `control`
 * (and events), a retry budget by its methods.
 */
export function failoverKindOf(block: unknown): FailoverBlockKind | undefined {
  if ((typeof block !== 'object' && typeof block !== 'function') || block === null) {
    return undefined;
  }
  const b = block as Bag;
  const control = b.control as Bag | undefined;
  if (typeof control === 'object' && control !== null && eventedBag(b) !== undefined) {
    if (typeof control.attempts === 'number') return 'retry';
    if (typeof control.timeoutMs === 'number') return 'deadline';
    if (isFn(control.setPercent)) return 'split';
    if (isFn(control.health)) return 'healthFailover';
    if (isFn(control.switchTo)) return 'timeoutFailover';
    if (typeof control.targets === 'number') return 'failover';
  }
  if (isFn(b.tryAcquire) && isFn(b.recordCall) && isFn(b.stats)) return 'budget';
  return undefined;
}

/** @internal Map failover, timeoutFailover and healthFailover events to `<prefix>failover_*`. */
export function watchFailover(
  scope: Scope,
  events: EventSource<FailoverEvents>,
  control: unknown,
): () => void {
  const kinds = scope.counter(
    'failover_events_total',
    'Failover events, by kind (attempt, switch, give_up, down, probe, restore).',
    ['kind'],
  );
  const attemptKind = kinds.series({ kind: 'attempt' });
  const switchKind = kinds.series({ kind: 'switch' });
  const giveUpKind = kinds.series({ kind: 'give_up' });
  const downKind = kinds.series({ kind: 'down' });
  const probeKind = kinds.series({ kind: 'probe' });
  const restoreKind = kinds.series({ kind: 'restore' });
  const attempts = cellsBy(
    scope.counter('failover_attempts_total', 'Calls made to each failover target, by outcome.', [
      'target',
      'outcome',
    ]),
  );
  const switches = cellsBy(
    scope.counter('failover_switches_total', 'Moves of traffic from one target to another.', [
      'from',
      'to',
      'reason',
    ]),
  );
  const duration = scope.histogram(
    'failover_attempt_duration_seconds',
    'Duration of each failover attempt, seconds, by target and outcome.',
    ['target', 'outcome'],
  );
  const durations = new Map<string, HistogramCell>();
  const offs = [
    subscribe(events, {
      attempt: (e: FailoverEvents['attempt']) => {
        attemptKind.value++;
        const outcome = e.ok ? 'success' : 'failure';
        const target = String(e.index);
        const key = `${target}/${outcome}`;
        attempts(key, () => ({ target, outcome })).value++;
        let cell = durations.get(key);
        if (cell === undefined) {
          cell = duration.cell(scope.labels({ target, outcome }));
          durations.set(key, cell);
        }
        duration.observe(cell, e.durationMs / 1000);
      },
      switch: (e: FailoverEvents['switch']) => {
        switchKind.value++;
        switches(`${e.from}>${e.to}/${e.reason}`, () => ({
          from: String(e.from),
          to: String(e.to),
          reason: e.reason,
        })).value++;
      },
      giveUp: () => {
        giveUpKind.value++;
      },
      down: () => {
        downKind.value++;
      },
      probe: () => {
        probeKind.value++;
      },
      restore: () => {
        restoreKind.value++;
      },
    }),
  ];
  const health = (control as Partial<HealthFailoverControl>).health;
  if (typeof health === 'function') {
    const up = scope.gauge(
      'failover_target_up',
      'healthFailover: 1 while a target is in rotation, 0 while it is down.',
      ['target'],
    );
    const read = () => {
      for (const t of health.call(control)) {
        up.set(scope.labels({ target: String(t.index) }), t.up ? 1 : 0);
      }
    };
    read();
    offs.push(scope.onCollect(up, read));
  }
  return () => {
    for (const off of offs) off();
  };
}

/** @internal Map trafficSplit events to `<prefix>traffic_split_*`. */
export function watchSplit(
  scope: Scope,
  events: EventSource<FailoverEvents>,
  control: TrafficSplitControl,
): () => void {
  const routes = scope.counter('traffic_split_routes_total', 'Calls routed by a traffic split.', [
    'to',
  ]);
  const primary = routes.series({ to: 'primary' });
  const secondary = routes.series({ to: 'secondary' });
  const percent = scope.gauge(
    'traffic_split_percent',
    'Percentage of calls a traffic split sends to its secondary.',
  );
  percent.set(scope.base, control.percent);
  return subscribe(events, {
    route: (e: FailoverEvents['route']) => {
      if (e.to === 'primary') primary.value++;
      else secondary.value++;
    },
    percent: (e: FailoverEvents['percent']) => {
      percent.set(scope.base, e.to);
    },
  });
}

/** @internal Map withRetry events to `<prefix>retry_*`. */
export function watchRetry(scope: Scope, events: EventSource<RetryEvents>): () => void {
  const kinds = scope.counter('retry_events_total', 'Retry events, by kind (retry, give_up).', [
    'kind',
  ]);
  const retries = kinds.series({ kind: 'retry' });
  const giveUps = kinds.series({ kind: 'give_up' });
  const byReason = cellsBy(
    scope.counter(
      'retry_give_ups_total',
      'Calls retry stopped retrying, by reason (attempts, not-retryable, budget).',
      ['reason'],
    ),
  );
  const exhausted = scope
    .counter(
      'retry_budget_exhausted_total',
      'Retries refused because the shared retry budget was exhausted.',
    )
    .series();
  const delay = scope.histogram('retry_delay_seconds', 'Backoff delay before each retry, seconds.');
  const delayCell = delay.cell(scope.base);
  return subscribe(events, {
    retry: (e: RetryEvents['retry']) => {
      retries.value++;
      delay.observe(delayCell, e.delayMs / 1000);
    },
    giveUp: (e: RetryEvents['giveUp']) => {
      giveUps.value++;
      byReason(e.reason, () => ({ reason: e.reason })).value++;
      if (e.reason === 'budget') exhausted.value++;
    },
  });
}

/** @internal Map withDeadline events to `<prefix>deadline_events_total`. */
export function watchDeadline(scope: Scope, events: EventSource<DeadlineEvents>): () => void {
  const timeouts = scope
    .counter('deadline_events_total', 'Deadline events, by kind (timeout).', ['kind'])
    .series({ kind: 'timeout' });
  return subscribe(events, {
    timeout: () => {
      timeouts.value++;
    },
  });
}

/** @internal Read a retry budget's counts on every scrape into `<prefix>retry_budget_*`. */
export function watchBudget(scope: Scope, budget: RetryBudget): () => void {
  const gauges = {
    calls: scope.gauge('retry_budget_calls', 'Calls recorded in the retry budget window.'),
    retries: scope.gauge('retry_budget_retries', 'Retries spent in the retry budget window.'),
    available: scope.gauge(
      'retry_budget_available',
      'Retries the budget would grant now (0 means exhausted).',
    ),
  };
  const read = () => {
    const stats = budget.stats();
    gauges.calls.set(scope.base, stats.calls);
    gauges.retries.set(scope.base, stats.retries);
    gauges.available.set(scope.base, stats.available);
  };
  read();
  const offs = [
    scope.onCollect(gauges.calls, read),
    scope.onCollect(gauges.retries, read),
    scope.onCollect(gauges.available, read),
  ];
  return () => {
    for (const off of offs) off();
  };
}
