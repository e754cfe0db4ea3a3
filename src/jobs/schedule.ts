// When a recurring job runs next: a fixed interval or a cron pattern. Cron needs the
// optional peer `croner`, loaded only when a cron schedule is used.
import { InvalidArgumentError } from '../core/index.js';
import { CronUnavailableError } from './errors.js';

/**
 * How often a job runs: every `everyMs` milliseconds, or on a cron pattern (needs the
 * optional peer `croner`; `timezone` is an IANA zone name, default the process's).
 *
 * @example
 * ```ts
 * const hourly: ScheduleSpec = { everyMs: 3_600_000 };
 * const nightly: ScheduleSpec = { cron: '0 3 * * *', timezone: 'Europe/Paris' };
 * ```
 */
export interface ScheduleSpec {
  /** Run every this many milliseconds (fixed rate, missed runs are not replayed). */
  everyMs?: number;
  /** A cron pattern (5 or 6 fields, croner syntax). */
  cron?: string;
  /** IANA time zone of the cron pattern. */
  timezone?: string;
}

/** @internal A resolved schedule: the first run time after `afterMs`. */
export interface Schedule {
  readonly description: string;
  /** The first run strictly after `afterMs`; `undefined` when a cron has no further run. */
  next(afterMs: number): number | undefined;
}

interface CronLike {
  nextRun(previous?: Date): Date | null;
}
type CronConstructor = new (pattern: string, options?: { timezone?: string }) => CronLike;

/** @internal Turn a spec into a {@link Schedule}, loading croner for cron patterns. */
export async function resolveSchedule(spec: ScheduleSpec): Promise<Schedule> {
  if (spec.everyMs !== undefined) return intervalSchedule(spec.everyMs);
  if (spec.cron === undefined) {
    throw new InvalidArgumentError('schedule', 'needs everyMs or cron');
  }
  let Cron: CronConstructor;
  try {
    // A variable specifier keeps bundlers from resolving the optional peer eagerly.
    const specifier = 'croner';
    const mod = (await import(specifier)) as { Cron: CronConstructor };
    Cron = mod.Cron;
  } catch (error) {
    throw new CronUnavailableError(error);
  }
  let cron: CronLike;
  try {
    cron = new Cron(spec.cron, spec.timezone === undefined ? {} : { timezone: spec.timezone });
  } catch (error) {
    throw new InvalidArgumentError('cron', `not a valid cron pattern: ${spec.cron}`, {
      cause: error,
    });
  }
  const pattern = spec.cron;
  return {
    description: `cron ${pattern}`,
    next(afterMs) {
      const date = cron.nextRun(new Date(afterMs));
      return date === null ? undefined : date.getTime();
    },
  };
}

/**
 * @internal A fixed-rate schedule anchored at `anchorMs`: runs fall on
 * anchor + k·everyMs, so a slow run or a late poll does not drift the cadence.
 */
export function intervalSchedule(everyMs: number, anchorMs = 0): Schedule {
  return {
    description: `every ${everyMs} ms`,
    next(afterMs) {
      const k = Math.floor((afterMs - anchorMs) / everyMs) + 1;
      return anchorMs + k * everyMs;
    },
  };
}
