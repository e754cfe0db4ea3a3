// The schema of circuitBreaker's options.
import { z } from 'zod';
import { type Backoff, clockSchema, functionSchema, systemClock } from '../core/index.js';
import { anyOf } from './any-of.js';
import { consecutiveFailures } from './consecutive-failures.js';
import { halfOpenSchema } from './half-open.js';
import { type BreakerPolicy, isBreakerPolicy } from './policy.js';
import { snapshotSchema } from './snapshot.js';

/** @internal */
export const optionsSchema = z
  .strictObject({
    name: z.string().min(1).default('breaker'),
    policy: z
      .custom<BreakerPolicy | readonly BreakerPolicy[]>(
        (v) => isBreakerPolicy(v) || (Array.isArray(v) && v.length > 0 && v.every(isBreakerPolicy)),
        {
          message:
            'must be a policy (consecutiveFailures(), failureRate(), ...) or a non-empty array of them',
        },
      )
      .optional(),
    openMs: z.number().finite().positive().optional(),
    openBackoff: z
      .custom<Backoff>(
        (v) => typeof v === 'object' && v !== null && typeof (v as Backoff).delayMs === 'function',
        { message: 'must be a backoff (an object with delayMs(attempt, previousMs))' },
      )
      .optional(),
    halfOpen: halfOpenSchema.prefault({}),
    isFailure: functionSchema<(error: unknown) => boolean>().optional(),
    clock: clockSchema.default(systemClock),
    afterIsolation: z.enum(['half-open', 'closed']).default('half-open'),
    restore: snapshotSchema.optional(),
    onListenerError: functionSchema<(error: unknown, event: string) => void>().optional(),
    callSampleEvery: z.number().int().min(1).max(1_000_000).default(10),
  })
  .superRefine((o, ctx) => {
    if (o.openMs !== undefined && o.openBackoff !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['openBackoff'],
        message: 'give openMs or openBackoff, not both',
      });
    }
  });

/** Validated options. @internal */
export type ResolvedOptions = z.output<typeof optionsSchema>;

/** The one policy a breaker runs: the default, the given one, or `anyOf` an array. @internal */
export function resolvePolicy(
  given: BreakerPolicy | readonly BreakerPolicy[] | undefined,
): BreakerPolicy {
  if (given === undefined) return consecutiveFailures();
  if (isBreakerPolicy(given)) return given;
  return given.length === 1 ? given[0]! : anyOf(...given);
}
