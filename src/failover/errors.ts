import { GirderError } from '../core/index.js';

/** One target's failure inside an {@link AllTargetsFailedError}. */
export interface TargetFailure {
  /** Position of the target in the list given to the factory. */
  readonly index: number;
  /** What that target threw. */
  readonly error: unknown;
}

/**
 * Every target a failover decorator tried failed (or it ran out of `maxAttempts`).
 * `errors` lists each attempt in the order it was made; `cause` is an
 * `AggregateError` of the same errors, so generic error reporters show them all.
 *
 * @example
 * ```ts
 * import { AllTargetsFailedError, failover } from 'girder/failover';
 *
 * const sms = failover([aliyun, tencent]);
 * try {
 *   await sms.send('+8613800000000', 'your code is 1234');
 * } catch (err) {
 *   if (err instanceof AllTargetsFailedError) {
 *     for (const { index, error } of err.errors) console.warn(`provider ${index}:`, error);
 *   }
 * }
 * ```
 */
export class AllTargetsFailedError extends GirderError {
  /** Each attempted target's error, in attempt order. */
  readonly errors: readonly TargetFailure[];
  /** The method that was called on the targets. */
  readonly method: string;
  /** How many targets the decorator had. */
  readonly targets: number;

  constructor(method: string, errors: readonly TargetFailure[], targets: number) {
    const tried = errors.length === targets ? `all ${targets}` : `${errors.length} of ${targets}`;
    super('ALL_TARGETS_FAILED', `${method}: ${tried} targets failed`, {
      cause: new AggregateError(
        errors.map((e) => e.error),
        `${method}: errors of the targets tried`,
      ),
    });
    this.errors = errors;
    this.method = method;
    this.targets = targets;
  }
}
