import type { z } from 'zod';
import { badRequest } from '../errors.js';

/** Parse request input with zod; a mismatch is a 400 `VALIDATION_FAILED` listing each problem. */
export function parse<S extends z.ZodType>(
  schema: S,
  value: unknown,
  what = 'request',
): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues = result.error.issues.map((i) => ({
    path: i.path.map(String).join('.'),
    message: i.message,
  }));
  const first = issues[0]!;
  const where = first.path ? `${first.path}: ` : '';
  throw badRequest('VALIDATION_FAILED', `invalid ${what}: ${where}${first.message}`, { issues });
}
