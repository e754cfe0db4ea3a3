// zod pieces every sms factory shares.
import { z } from 'zod';

/** @internal The `templates` option: template -> its declared params. */
export const templatesSchema = z
  .record(z.string().min(1), z.array(z.string().min(1)).readonly())
  .optional();

/** @internal A provider's per-request timeout option. */
export const timeoutSchema = (fallback: number) =>
  z.number().int().min(0).max(600_000).default(fallback);
