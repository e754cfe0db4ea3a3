import { z } from 'zod';
import type { Clock } from './clock.js';
import { InvalidOptionsError, type OptionIssue } from './errors.js';

/**
 * Validate `input` against a zod schema and return the parsed value with defaults
 * applied. Throws {@link InvalidOptionsError} listing every bad field with its path.
 *
 * @param subject - what is being configured, used in the error message (e.g. `fixedWindow`).
 *
 * @example
 * ```ts
 * import { z } from 'zod';
 * import { parseOptions } from 'girder/core';
 *
 * const schema = z.object({ limit: z.number().int().positive(), windowMs: z.number().default(1000) });
 * const opts = parseOptions('myLimiter', schema, { limit: 10 }); // { limit: 10, windowMs: 1000 }
 * ```
 */
export function parseOptions<S extends z.ZodType>(
  subject: string,
  schema: S,
  input: unknown,
): z.output<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issues: OptionIssue[] = result.error.issues.map((issue) => ({
    path: issue.path.map(String).join('.'),
    message: issue.message,
  }));
  throw new InvalidOptionsError(subject, issues);
}

/**
 * Zod schema accepting any {@link Clock}-shaped object, for a primitive's `clock` option.
 *
 * @example
 * ```ts
 * import { z } from 'zod';
 * import { clockSchema, systemClock } from 'girder/core';
 *
 * const schema = z.object({ clock: clockSchema.default(systemClock) });
 * ```
 */
export const clockSchema = z.custom<Clock>(
  (v) =>
    typeof v === 'object' &&
    v !== null &&
    typeof (v as Clock).now === 'function' &&
    typeof (v as Clock).setTimeout === 'function' &&
    typeof (v as Clock).clearTimeout === 'function',
  { message: 'must be a Clock with now(), setTimeout() and clearTimeout()' },
);

/**
 * Zod schema accepting any function, for callback options (`isFailure`, `random`, ...).
 * zod cannot check a function's signature, so the type parameter is trusted.
 *
 * @typeParam F - the function type the option is declared with.
 * @example
 * ```ts
 * import { z } from 'zod';
 * import { functionSchema } from 'girder/core';
 *
 * const schema = z.object({ random: functionSchema<() => number>().default(() => Math.random) });
 * ```
 */
export function functionSchema<F extends (...args: never[]) => unknown>(
  message = 'must be a function',
) {
  return z.custom<F>((v) => typeof v === 'function', { message });
}
