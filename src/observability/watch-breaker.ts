// Metrics of a circuit breaker: a state gauge (1 for the current state, 0 for the
// others), transitions, calls by outcome and their durations.
import type { Breaker, BreakerEvents, BreakerState } from '../breaker/index.js';
import { cellsBy, type Scope, subscribe } from './scope.js';

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
    'Duration of calls through a circuit breaker, seconds, by outcome.',
    ['outcome'],
  );
  const ok = duration.cell(scope.labels({ outcome: 'success' }));
  const failed = duration.cell(scope.labels({ outcome: 'failure' }));
  const cancelled = duration.cell(scope.labels({ outcome: 'ignored' }));
  return subscribe(breaker.events, {
    stateChange: (e: BreakerEvents['stateChange']) => {
      stateChange.value++;
      transitions(`${e.from}>${e.to}`, () => ({ from: e.from, to: e.to })).value++;
      setState(e.to);
    },
    rampStep: () => {
      rampStep.value++;
    },
    success: (e: BreakerEvents['success']) => {
      success.value++;
      duration.observe(ok, e.durationMs / 1000);
    },
    failure: (e: BreakerEvents['failure']) => {
      failure.value++;
      duration.observe(failed, e.durationMs / 1000);
    },
    ignored: (e: BreakerEvents['ignored']) => {
      ignored.value++;
      duration.observe(cancelled, e.durationMs / 1000);
    },
    rejected: () => {
      rejected.value++;
    },
  });
}
