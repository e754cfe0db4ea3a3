import { InvalidOptionsError } from '../../src/core/index.js';

/** A stream that records every line written to it. */
export function captureStream() {
  const lines: string[] = [];
  return {
    lines,
    write(line: string) {
      lines.push(line);
      return true;
    },
    /** Written lines parsed as JSON. */
    json(): Record<string, unknown>[] {
      return lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    },
  };
}

/** Run `fn`, expect an InvalidOptionsError, and return it for assertions on `issues`. */
export function optionsError(fn: () => unknown): InvalidOptionsError {
  try {
    fn();
  } catch (err) {
    if (err instanceof InvalidOptionsError) return err;
    throw err;
  }
  throw new Error('expected an InvalidOptionsError');
}
