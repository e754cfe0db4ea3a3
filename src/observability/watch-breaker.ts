// Metrics of a circuit breaker: a state gauge (1 for the current state, 0 for the
// others), transitions, calls by outcome and their durations.
//
// Calls by outcome are copied from the breaker's own running totals at scrape time, and
// durations come from its sampled `callSample` event: listening to every call would
// move the breaker off its hot path (two clock reads and an event per call), which cost
// more than the breaker itself.
import type { Breaker, BreakerEvents, BreakerState } from '../breaker/index.js';
import { cellsBy, type Scope, subscribe } from './scope.js';
import { eventedBag, isFn } from './shape.js';

/** @internal Whether `block` is a circuit breaker. */
export function breakerKindOf(block: unknown): 'breaker' | undefined {
  const b = eventedBag(block);
  if (b === undefined) return undefined;
  return isFn(b.execute) && isFn(b.isolate) && typeof b.state === 'string' ? 'breaker' : undefined;
}

const STATES: readonly BreakerState[] = ['closed', 'open', 'half-open', 'isolated'];

/** @internal Map a breaker's events to `<prefix>breaker_*`. */
export function watchBreaker(scope: Scope, breaker: Breaker): () => void {
  const state = scope.gauge(
    'breaker_state',
    'Circuit breaker state: 1 for the current state, 0 for the others.',
    ['state'],
  );
  const setState = (current: BreakerState) => {
    for (const s of STATES) state.set(scope.labels({ state: s }), s === current ? 1 : 0);
  };
  setState(breaker.state);
  const events = scope.counter(
    'breaker_events_total',
    'Circuit breaker events, by kind: calls by outcome (success, failure, rejected, ignored), state_change, ramp_step.',
    ['kind'],
  );
  const success = events.series({ kind: 'success' });
  const failure = events.series({ kind: 'failure' });
  const rejected = events.series({ kind: 'rejected' });
  const ignored = events.series({ kind: 'ignored' });
  const stateChange = events.series({ kind: 'state_change' });
  const rampStep = events.series({ kind: 'ramp_step' });
  const transitions = cellsBy(
    scope.counter('breaker_transitions_total', 'Circuit breaker state transitions.', [
      'from',
      'to',
    ]),
  );
  const duration = scope.histogram(
    'breaker_call_duration_seconds',
    "Duration of calls through a circuit breaker, seconds, by outcome; one call in the breaker's callSampleEvery (default 10) is timed.",
    ['outcome'],
  );
  const ok = duration.cell(scope.labels({ outcome: 'success' }));
  const failed = duration.cell(scope.labels({ outcome: 'failure' }));
  const cancelled = duration.cell(scope.labels({ outcome: 'ignored' }));
  let last = breaker.callCounts;
  const sync = () => {
    const now = breaker.callCounts;
    success.value += now.success - last.success;
    failure.value += now.failure - last.failure;
    ignored.value += now.ignored - last.ignored;
    last = now;
  };
  const stopSync = events.onCollect(sync);
  const off = subscribe(breaker.events, {
    stateChange: (e: BreakerEvents['stateChange']) => {
      stateChange.value++;
      transitions(`${e.from}>${e.to}`, () => ({ from: e.from, to: e.to })).value++;
      setState(e.to);
    },
    rampStep: () => {
      rampStep.value++;
    },
    callSample: (e: BreakerEvents['callSample']) => {
      const cell = e.outcome === 'success' ? ok : e.outcome === 'failure' ? failed : cancelled;
      duration.observe(cell, e.durationMs / 1000);
    },
    rejected: () => {
      rejected.value++;
    },
  });
  return () => {
    sync(); // what happened up to now is reported; nothing after
    stopSync();
    off();
  };
}
