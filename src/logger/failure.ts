/** Describe a thrown value in one line, without ever throwing itself. */
export function describe(error: unknown): string {
  try {
    return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  } catch {
    return 'unprintable error';
  }
}

/**
 * Turn an adapter's `onError` option into the function it calls when an entry cannot
 * be written. Logging must never throw into the caller, so a throwing `onError` is
 * swallowed. Without `onError`, the first failure becomes a process warning and later
 * ones are dropped: a broken stream would otherwise print one warning per log call.
 */
export function failureReporter(onError: ((error: unknown) => void) | undefined) {
  let warned = false;
  return (error: unknown): void => {
    try {
      if (onError !== undefined) onError(error);
      else if (!warned) {
        warned = true;
        process.emitWarning(
          `girder: a logger could not write an entry (later failures are not reported): ${describe(error)}`,
          'GirderLoggerWarning',
        );
      }
    } catch {
      // Nowhere left to report to; the caller's code must go on.
    }
  };
}
