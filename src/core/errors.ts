/**
 * Stable error codes used across girder. Callers match on `err.code`, never on messages.
 */
export type GirderErrorCode =
  | 'INVALID_OPTIONS'
  | 'INVALID_ARGUMENT'
  | 'ABORTED'
  | 'TIMEOUT'
  | (string & {});

/**
 * Base class of every error girder throws. `code` is a stable string meant for
 * programs; `message` is for humans and may change; `cause` keeps the underlying error.
 *
 * @example
 * ```ts
 * import { GirderError } from 'girder/core';
 *
 * try {
 *   await limiter.limit('');
 * } catch (err) {
 *   if (err instanceof GirderError && err.code === 'INVALID_ARGUMENT') {
 *     // a programming error: fix the caller
 *   }
 * }
 * ```
 */
export class GirderError extends Error {
  /** Stable, machine-readable code such as `RATE_LIMITED` or `CIRCUIT_OPEN`. */
  readonly code: GirderErrorCode;

  constructor(code: GirderErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.name = new.target.name;
  }
}

/** One problem found while validating options: where it is and what is wrong. */
export interface OptionIssue {
  /** Dotted path of the offending field, e.g. `policy.threshold`; empty for the whole object. */
  readonly path: string;
  /** Human-readable description of the problem. */
  readonly message: string;
}

/**
 * Thrown by factories when their options fail validation. Lists every bad field.
 *
 * @example
 * ```ts
 * import { InvalidOptionsError } from 'girder/core';
 *
 * try {
 *   fixedWindow({ limit: -1, windowMs: 0 });
 * } catch (err) {
 *   if (err instanceof InvalidOptionsError) {
 *     console.log(err.issues); // [{ path: 'limit', ... }, { path: 'windowMs', ... }]
 *   }
 * }
 * ```
 */
export class InvalidOptionsError extends GirderError {
  /** Every problem found, in schema order. */
  readonly issues: readonly OptionIssue[];

  constructor(subject: string, issues: readonly OptionIssue[]) {
    const list = issues.map((i) => `${i.path || '(root)'}: ${i.message}`).join('; ');
    super('INVALID_OPTIONS', `invalid ${subject} options: ${list}`);
    this.issues = issues;
  }
}

/**
 * Thrown when a runtime argument is unusable: an empty key, a negative cost, an
 * unknown phase. It signals a programming error in the caller, never a downstream fault.
 *
 * @example
 * ```ts
 * import { InvalidArgumentError } from 'girder/core';
 *
 * function charge(amount: number) {
 *   if (!(amount > 0)) throw new InvalidArgumentError('amount', 'must be a positive number');
 * }
 * ```
 */
export class InvalidArgumentError extends GirderError {
  /** Name of the offending argument. */
  readonly argument: string;

  constructor(argument: string, problem: string, options?: { cause?: unknown }) {
    super('INVALID_ARGUMENT', `invalid ${argument}: ${problem}`, options);
    this.argument = argument;
  }
}

/**
 * The caller cancelled the operation (its `AbortSignal` fired). This is never a
 * failure of the downstream dependency, so breakers and failover ignore it.
 *
 * @example
 * ```ts
 * import { AbortedError, sleep } from 'girder/core';
 *
 * const controller = new AbortController();
 * setTimeout(() => controller.abort(), 10);
 * await sleep(1_000, { signal: controller.signal }).catch((err) => {
 *   console.log(err instanceof AbortedError); // true
 * });
 * ```
 */
export class AbortedError extends GirderError {
  constructor(reason?: unknown) {
    super('ABORTED', 'operation aborted by the caller', { cause: reason });
  }
}

/**
 * An operation exceeded a deadline that girder enforced (for example a per-attempt
 * timeout). Unlike {@link AbortedError}, this counts as a downstream failure.
 *
 * @example
 * ```ts
 * import { TimeoutError, withTimeout } from 'girder/core';
 *
 * await withTimeout((signal) => fetch(url, { signal }), { timeoutMs: 500 }).catch((err) => {
 *   if (err instanceof TimeoutError) console.log(`gave up after ${err.timeoutMs} ms`);
 * });
 * ```
 */
export class TimeoutError extends GirderError {
  /** The deadline that was exceeded, in milliseconds. */
  readonly timeoutMs: number;

  constructor(timeoutMs: number, options?: { cause?: unknown }) {
    super('TIMEOUT', `operation timed out after ${timeoutMs} ms`, options);
    this.timeoutMs = timeoutMs;
  }
}

/**
 * True when `err` is a {@link GirderError}, optionally with the given code.
 *
 * @example
 * ```ts
 * import { isGirderError } from 'girder/core';
 *
 * if (isGirderError(err, 'RATE_LIMITED')) reply.code(429);
 * ```
 */
export function isGirderError(err: unknown, code?: GirderErrorCode): err is GirderError {
  return err instanceof GirderError && (code === undefined || err.code === code);
}
