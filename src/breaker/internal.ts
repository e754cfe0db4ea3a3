// Helpers shared by the breaker's files; not exported from girder/breaker.
import type { z } from 'zod';
import {
  type CountWindow,
  checkSignal,
  InvalidArgumentError,
  InvalidOptionsError,
  type OptionIssue,
  TimeWindow,
} from '../core/index.js';

/**
 * Validate part of a snapshot given to `circuitBreaker({restore})`, reporting issues
 * with their full path (e.g. `restore.policy.failures`).
 */
export function parseSnapshot<S extends z.ZodType>(
  schema: S,
  input: unknown,
  path: string,
): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issues: OptionIssue[] = result.error.issues.map((issue) => ({
    path: [path, ...issue.path.map(String)].join('.'),
    message: issue.message,
  }));
  throw new InvalidOptionsError('circuitBreaker', issues);
}

/** Throw an {@link InvalidOptionsError} for one snapshot field. */
export function snapshotMismatch(path: string, message: string): never {
  throw new InvalidOptionsError('circuitBreaker', [{ path, message }]);
}

/**
 * Load a policy's window from `restore.policy.window` (at `path`), refusing a window of
 * another kind or geometry with the offending field's path. `now` ages out old buckets.
 */
export function restoreWindow(
  window: TimeWindow | CountWindow,
  input: unknown,
  path: string,
  now: number,
): void {
  const kind = window instanceof TimeWindow ? 'time' : 'count';
  const given = (input as { kind?: unknown } | null)?.kind;
  if (typeof input !== 'object' || input === null) snapshotMismatch(path, 'must be an object');
  if (given !== kind) {
    snapshotMismatch(
      `${path}.kind`,
      `is ${JSON.stringify(given)} but the policy is configured with a ${kind} window`,
    );
  }
  window.load(input, { path, owner: 'circuitBreaker', now });
}

/** The error `execute(fn, signal)` answers bad arguments with, or undefined (hot path). */
export function badCall(fn: unknown, signal: unknown): InvalidArgumentError | undefined {
  if (typeof fn !== 'function') return new InvalidArgumentError('fn', 'must be a function');
  if (signal === undefined || signal instanceof AbortSignal) return undefined;
  try {
    checkSignal(signal, 'signal');
    return undefined;
  } catch (error) {
    return error as InvalidArgumentError;
  }
}
