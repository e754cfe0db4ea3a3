// Which girder interceptor refused a call, carried on the status object itself: grpc-js
// hands one status object from interceptor to interceptor unchanged, so the events
// interceptors (placed first) can tell a shed or rate-limited call from a handler's own
// UNAVAILABLE or RESOURCE_EXHAUSTED without parsing `details`.
import type { StatusObject } from '@grpc/grpc-js';

/**
 * Which girder interceptor refused a call before it reached the network or the handler:
 * the `refusedBy` of a client or server `call` event.
 *
 * @example
 * ```ts
 * calls.events.on('call', (e) => {
 *   if (e.refusedBy === 'degradation') shedCounter.inc();
 * });
 * ```
 */
export type RefusedBy = 'breaker' | 'rateLimit' | 'auth' | 'degradation';

const refusals = new WeakMap<object, RefusedBy>();

/** @internal Mark `status` as a refusal by `by`; returns it. */
export function markRefusal<S extends Partial<StatusObject>>(status: S, by: RefusedBy): S {
  refusals.set(status, by);
  return status;
}

/** @internal The interceptor that refused the call ending with `status`, if one did. */
export function refusalOf(status: object): RefusedBy | undefined {
  return refusals.get(status);
}
