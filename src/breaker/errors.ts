import { GirderError } from '../core/index.js';

/**
 * Why a call was refused without reaching the dependency:
 * - `open`: the breaker tripped and its open period has not elapsed;
 * - `isolated`: someone called {@link Breaker.isolate} and has not released it;
 * - `probing`: half-open, and every probe slot is taken (or enough probes are in flight);
 * - `ramp`: half-open, recovering, and this call fell outside the admitted fraction;
 * - `throttled`: the adaptive-throttle policy dropped it (the breaker stays closed).
 */
export type RejectionReason = 'open' | 'isolated' | 'probing' | 'ramp' | 'throttled';

/** Details carried by a {@link BrokenCircuitError}. */
export interface BrokenCircuitDetails {
  /** Name of the breaker that refused the call. */
  readonly breaker: string;
  /** State of the breaker when it refused: `open`, `half-open`, `isolated` or `closed` (throttled). */
  readonly state: 'closed' | 'open' | 'half-open' | 'isolated';
  /** Why the call was refused. */
  readonly reason: RejectionReason;
  /** How long until the breaker will admit a call again, when known (open state only). */
  readonly retryAfterMs?: number | undefined;
}

/**
 * A circuit breaker refused the call; the dependency was not touched. Code
 * `CIRCUIT_OPEN`. `retryAfterMs` says how long until the breaker will let a probe
 * through, when that is known (while open); `reason` says why it refused.
 *
 * Errors created by a breaker carry no stack trace: refusing is the path that must be
 * cheapest during an outage, capturing a stack costs microseconds, and the message
 * already names the breaker and the reason.
 *
 * @example
 * ```ts
 * import { BrokenCircuitError } from 'girder/breaker';
 *
 * try {
 *   await breaker.execute((signal) => inventory.reserve(order, { signal }));
 * } catch (err) {
 *   if (err instanceof BrokenCircuitError) {
 *     reply.header('retry-after', Math.ceil((err.retryAfterMs ?? 1000) / 1000)).code(503);
 *   } else throw err;
 * }
 * ```
 */
export class BrokenCircuitError extends GirderError {
  /** Name of the breaker that refused the call. */
  readonly breaker: string;
  /** State of the breaker when it refused. */
  readonly state: BrokenCircuitDetails['state'];
  /** Why the call was refused. */
  readonly reason: RejectionReason;
  /** Milliseconds until the breaker admits a call again, or `undefined` when unknown. */
  readonly retryAfterMs: number | undefined;

  constructor(details: BrokenCircuitDetails) {
    const after =
      details.retryAfterMs === undefined
        ? ''
        : `; retry after ${Math.ceil(details.retryAfterMs)} ms`;
    super(
      'CIRCUIT_OPEN',
      `circuit "${details.breaker}" refused the call (${details.reason}${after})`,
    );
    this.breaker = details.breaker;
    this.state = details.state;
    this.reason = details.reason;
    this.retryAfterMs = details.retryAfterMs;
  }
}

/**
 * A {@link BrokenCircuitError} without a stack trace: capturing one costs microseconds
 * on the path that must be cheapest in an outage, and the message already names the
 * breaker and the reason.
 *
 * @internal
 */
export function refusal(details: BrokenCircuitDetails): BrokenCircuitError {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return new BrokenCircuitError(details);
  } finally {
    Error.stackTraceLimit = limit;
  }
}
