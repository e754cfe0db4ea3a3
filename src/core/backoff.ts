import { z } from 'zod';
import { InvalidArgumentError } from './errors.js';
import { functionSchema, parseOptions } from './options.js';

/**
 * How long to wait before a retry. Stateless: pass the attempt number (1 for the first
 * retry) and, for decorrelated jitter, the previous delay.
 *
 * @example
 * ```ts
 * import { exponential } from 'girder/core';
 *
 * const backoff = exponential({ initialMs: 100, maxMs: 5_000 });
 * let previous = 0;
 * for (let attempt = 1; attempt <= 3; attempt++) {
 *   previous = backoff.delayMs(attempt, previous);
 * }
 * ```
 */
export interface Backoff {
  /** Delay in milliseconds before retry number `attempt` (1-based). */
  delayMs(attempt: number, previousMs?: number): number;
}

/** Options of {@link constant}. */
export interface ConstantBackoffOptions {
  /** The fixed delay. Default 100 ms. */
  delayMs?: number;
}

const constantSchema = z.strictObject({
  delayMs: z.number().finite().nonnegative().default(100),
});

/**
 * The same delay before every retry.
 *
 * @example
 * ```ts
 * import { constant } from 'girder/core';
 *
 * constant({ delayMs: 250 }).delayMs(7); // 250
 * ```
 */
export function constant(options: ConstantBackoffOptions = {}): Backoff {
  const { delayMs } = parseOptions('constant backoff', constantSchema, options);
  return { delayMs: () => delayMs };
}

/**
 * Jitter mode of {@link exponential}:
 * - `none`: exactly `initial * factor^(attempt-1)`, capped;
 * - `full`: uniform in `[0, capped]` — best at spreading a herd of retries;
 * - `equal`: `capped/2` plus uniform in `[0, capped/2]` — never retries immediately;
 * - `decorrelated`: uniform in `[initial, previous * 3]`, capped — grows from the last delay.
 */
export type Jitter = 'none' | 'full' | 'equal' | 'decorrelated';

/** Options of {@link exponential}. */
export interface ExponentialBackoffOptions {
  /** Delay before the first retry (before jitter). Default 100 ms. */
  initialMs?: number;
  /** Growth per attempt. Default 2. */
  factor?: number;
  /** Upper bound of any delay. Default 30 000 ms. */
  maxMs?: number;
  /** Jitter mode. Default `full`. */
  jitter?: Jitter;
  /** Random source in `[0, 1)`; inject for deterministic tests. Default `Math.random`. */
  random?: () => number;
}

const exponentialSchema = z
  .strictObject({
    initialMs: z.number().finite().positive().default(100),
    factor: z.number().finite().min(1).default(2),
    maxMs: z.number().finite().positive().default(30_000),
    jitter: z.enum(['none', 'full', 'equal', 'decorrelated']).default('full'),
    random: functionSchema<() => number>().default(() => Math.random),
  })
  // zod still runs this after field errors; only compare values that passed them.
  .refine((o) => !(o.initialMs > 0 && o.maxMs > 0) || o.maxMs >= o.initialMs, {
    message: 'must be >= initialMs',
    path: ['maxMs'],
  });

/**
 * Exponential backoff with a cap and a choice of jitter (see {@link Jitter}).
 *
 * @example
 * ```ts
 * import { exponential } from 'girder/core';
 *
 * const backoff = exponential({ initialMs: 50, factor: 2, maxMs: 2_000, jitter: 'equal' });
 * backoff.delayMs(1); // between 25 and 50
 * backoff.delayMs(10); // between 1000 and 2000
 * ```
 */
export function exponential(options: ExponentialBackoffOptions = {}): Backoff {
  const { initialMs, factor, maxMs, jitter, random } = parseOptions(
    'exponential backoff',
    exponentialSchema,
    options,
  );
  const capped = (attempt: number) => {
    if (!Number.isInteger(attempt) || attempt < 1) {
      throw new InvalidArgumentError('attempt', 'must be an integer >= 1');
    }
    return Math.min(maxMs, initialMs * factor ** (attempt - 1));
  };
  switch (jitter) {
    case 'none':
      return { delayMs: capped };
    case 'full':
      return { delayMs: (attempt) => random() * capped(attempt) };
    case 'equal':
      return {
        delayMs: (attempt) => {
          const half = capped(attempt) / 2;
          return half + random() * half;
        },
      };
    case 'decorrelated':
      return {
        delayMs: (attempt, previousMs = 0) => {
          capped(attempt); // validates attempt
          const upper = Math.max(initialMs, previousMs * 3);
          return Math.min(maxMs, initialMs + random() * (upper - initialMs));
        },
      };
  }
}
