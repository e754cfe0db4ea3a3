// The breaker's state as a union: each state carries only its own data (the open
// deadline, the half-open ramp), so nothing outlives the state it belongs to.
import { HalfOpenRamp, type ResolvedHalfOpen } from './half-open.js';
import type { ParsedSnapshot } from './snapshot.js';
import type { BreakerState } from './types.js';

/** @internal */
export const CLOSED = 0;
/** @internal */
export const OPEN = 1;
/** @internal */
export const HALF_OPEN = 2;
/** @internal */
export const ISOLATED = 3;
/** Public names of the state codes. @internal */
export const NAMES: readonly BreakerState[] = ['closed', 'open', 'half-open', 'isolated'];

/** Closed: calls flow, the policy watches them. @internal */
export interface ClosedState {
  readonly code: typeof CLOSED;
}
/** Open until a deadline (clock time). @internal */
export interface OpenState {
  readonly code: typeof OPEN;
  readonly openUntil: number;
}
/** Recovering, with the ramp of this half-open period. @internal */
export interface HalfOpenState {
  readonly code: typeof HALF_OPEN;
  readonly ramp: HalfOpenRamp;
}
/** Held open by `isolate()`. @internal */
export interface IsolatedState {
  readonly code: typeof ISOLATED;
}
/** @internal */
export type Current = ClosedState | OpenState | HalfOpenState | IsolatedState;

/** @internal */
export const CLOSED_STATE: ClosedState = { code: CLOSED };
/** @internal */
export const ISOLATED_STATE: IsolatedState = { code: ISOLATED };

/** A fresh half-open period starting at `now`. @internal */
export function halfOpenState(options: ResolvedHalfOpen, now: number): HalfOpenState {
  return { code: HALF_OPEN, ramp: new HalfOpenRamp(options, now) };
}

const NO_RAMP = { step: -1, probeSuccesses: 0, stepStartedAt: 0, stepSuccesses: 0, credit: 0 };

/** The state fields of a snapshot (`state`, `openUntil`, `halfOpen`). @internal */
export function stateSnapshot(state: Current) {
  return {
    state: NAMES[state.code]!,
    openUntil: state.code === OPEN ? state.openUntil : 0,
    halfOpen: state.code === HALF_OPEN ? state.ramp.toJSON() : { ...NO_RAMP },
  };
}

/** The state a validated snapshot describes. @internal */
export function stateFromSnapshot(
  s: ParsedSnapshot,
  options: ResolvedHalfOpen,
  now: number,
): Current {
  switch (s.state) {
    case 'closed':
      return CLOSED_STATE;
    case 'open':
      return { code: OPEN, openUntil: s.openUntil };
    case 'half-open':
      return { code: HALF_OPEN, ramp: HalfOpenRamp.restore(options, s.halfOpen, now) };
    default:
      return ISOLATED_STATE;
  }
}
