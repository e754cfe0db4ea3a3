import { z } from 'zod';
import { type Clock, systemClock } from '../core/index.js';

/**
 * zod schema of the `clock` option every girder/jwt factory takes: any object with
 * `now()`, default `systemClock`.
 *
 * @internal
 */
export const clockOption = z
  .custom<Clock>(
    (v) => typeof (v as Clock | null)?.now === 'function',
    'must be a clock (an object with now())',
  )
  .default(systemClock);
