// Helpers shared by the breaker's files; not exported from girder/breaker.
import type { z } from 'zod';
import { InvalidOptionsError, type OptionIssue } from '../core/index.js';

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
