import { AbortedError, type TypedEmitter } from '../core/index.js';
import { AllTargetsFailedError, type TargetFailure } from './errors.js';
import type { FailoverEvents } from './events.js';
import { callerCancellation, invoke } from './shared.js';

/** What `shouldFailover` (and healthFailover's `isFailure`) is told about a failed attempt. */
export interface FailedAttempt {
  /** Index of the target that failed. */
  readonly index: number;
  /** The method being called. */
  readonly method: string;
  /** 1 for the call's first target, 2 for the second, ... */
  readonly attempt: number;
}

/** @internal The fixed part of a "try targets in order" loop: one per decorator. */
export interface OrderedTargets {
  readonly targets: readonly object[];
  readonly events: TypedEmitter<FailoverEvents>;
  readonly shouldFailover: ((error: unknown, attempt: FailedAttempt) => boolean) | undefined;
}

/** @internal Sees every attempt of one call that reached its target (not the caller's cancellations). */
export interface AttemptObserver {
  /** Attempt `attempt` (from 1) is about to call target `index`. */
  start(attempt: number, index: number): void;
  /** It settled: `failure` is undefined on success. */
  end(attempt: FailedAttempt, failure: { error: unknown } | undefined): void;
}

/** @internal Emit the `attempt` event of one settled attempt that started at `startedAt` (performance.now()). */
export function emitAttempt(
  events: TypedEmitter<FailoverEvents>,
  method: string,
  attempt: number,
  index: number,
  startedAt: number,
  failure: { error: unknown } | undefined,
): void {
  const durationMs = performance.now() - startedAt;
  events.emit(
    'attempt',
    failure === undefined
      ? { method, attempt, index, durationMs, ok: true }
      : { method, attempt, index, durationMs, ok: false, error: failure.error },
  );
}

/**
 * @internal
 * The one loop failover and healthFailover share: call `method` on target
 * `indexAt(0, start)`, then `indexAt(1, start)`, ... (`start` is passed through so a
 * caller can keep one index function instead of a closure per call) for at most `count` attempts, until one succeeds.
 *
 * - The caller's own cancellation (before an attempt, or as an attempt's error) stops
 *   at once with `AbortedError`, and is neither observed nor collected.
 * - An error for which `shouldFailover` says no goes straight to the caller.
 * - Every move to the next target emits `switch` (only while someone listens); when all
 *   attempts failed, `giveUp` is emitted and {@link AllTargetsFailedError} thrown.
 */
export async function tryInOrder(
  loop: OrderedTargets,
  method: string,
  args: readonly unknown[],
  signal: AbortSignal | undefined,
  count: number,
  start: number,
  indexAt: (attempt: number, start: number) => number,
  observer?: AttemptObserver,
): Promise<unknown> {
  const { targets, events, shouldFailover } = loop;
  let errors: TargetFailure[] | undefined;
  for (let i = 0; i < count; i++) {
    const index = indexAt(i, start);
    if (signal?.aborted) throw new AbortedError(signal.reason);
    observer?.start(i + 1, index);
    const startedAt = events.has('attempt') ? performance.now() : -1;
    try {
      const result = await invoke(targets[index]!, method, args);
      observer?.end({ index, method, attempt: i + 1 }, undefined);
      if (startedAt >= 0) emitAttempt(events, method, i + 1, index, startedAt, undefined);
      return result;
    } catch (error) {
      const aborted = callerCancellation(error, signal);
      if (aborted) throw aborted;
      if (startedAt >= 0) emitAttempt(events, method, i + 1, index, startedAt, { error });
      if (observer || shouldFailover) {
        const attempt: FailedAttempt = { index, method, attempt: i + 1 };
        observer?.end(attempt, { error });
        if (shouldFailover && !shouldFailover(error, attempt)) throw error;
      }
      if (errors === undefined) errors = [];
      errors.push({ index, error });
      if (i + 1 < count && events.has('switch')) {
        events.emit('switch', {
          from: index,
          to: indexAt(i + 1, start),
          reason: 'error',
          method,
          error,
        });
      }
    }
  }
  const failures = errors ?? [];
  events.emit('giveUp', { method, errors: failures });
  throw new AllTargetsFailedError(method, failures, targets.length);
}
