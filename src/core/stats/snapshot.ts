// Shared by the stats windows' `load`: where a snapshot's issues are reported.
import type { z } from 'zod';
import type { OptionIssue } from '../errors.js';

/** Options of `load` on a `TimeWindow` or a `CountWindow`. */
export interface LoadOptions {
  /**
   * Path of the snapshot inside the caller's input, prefixed to every issue of the
   * `InvalidOptionsError` (e.g. `restore.policy.window`). Default `window`.
   */
  path?: string;
  /** What is being configured, named in the error message. Default the class name. */
  owner?: string;
  /**
   * Current time, to refuse buckets from the future and age out old ones. Default the
   * window's clock (time windows only; count windows ignore it).
   */
  now?: number;
}

/** zod issues of a snapshot, with `path` prefixed. @internal */
export function snapshotIssues(error: z.ZodError, path: string): OptionIssue[] {
  return error.issues.map((issue) => ({
    path: [path, ...issue.path.map(String)].join('.'),
    message: issue.message,
  }));
}
