// Option parsing shared by every locker factory (memory, Redis, etcd): one strict schema
// for LockerOptions, and the per-call checks of acquire/tryAcquire/using.
import { z } from 'zod';
import {
  type Backoff,
  type Clock,
  checkSignal,
  clockSchema,
  exponential,
  InvalidArgumentError,
  systemClock,
} from '../core/index.js';
import type { AcquireOptions, LockerOptions } from './types.js';

/** Longest TTL, wait or timeout accepted: one year. Longer values are surely a unit mistake. */
export const MAX_DURATION_MS = 365 * 86_400_000;
/** Longest key accepted, in characters. */
export const MAX_KEY_LENGTH = 1_024;

const durationMs = (min: number) => z.number().int().min(min).max(MAX_DURATION_MS);

const backoffSchema = z.custom<Backoff>(
  (v) => typeof v === 'object' && v !== null && typeof (v as Backoff).delayMs === 'function',
  { message: 'must be a Backoff (an object with delayMs(attempt)), e.g. exponential()' },
);

const watchdogSchema = z.union([
  z.literal(false),
  z.strictObject({
    renewAtFraction: z
      .number()
      .gt(0)
      .lt(1)
      .default(1 / 3),
  }),
]);

/**
 * @internal
 * The fields of {@link LockerOptions}; a backend's own schema extends it with its fields
 * (`z.strictObject({ ...lockerOptionFields, prefix: ... })`).
 */
export const lockerOptionFields = {
  name: z.string().min(1).max(200).default('lock'),
  ttlMs: durationMs(1).default(30_000),
  waitMs: durationMs(0).default(0),
  retry: backoffSchema.optional(),
  watchdog: watchdogSchema.default({ renewAtFraction: 1 / 3 }),
  driftFactor: z.number().min(0).max(0.5).default(0.01),
  marginMs: z.number().int().min(0).max(60_000).default(10),
  releaseTimeoutMs: durationMs(1).default(2_000),
  clock: clockSchema.optional(),
};

/** @internal The strict schema of {@link LockerOptions}. */
export const lockerOptionsSchema = z.strictObject(lockerOptionFields);

/** @internal Parsed, defaulted {@link LockerOptions}. */
export interface LockerSettings {
  readonly name: string;
  readonly ttlMs: number;
  readonly waitMs: number;
  readonly retry: Backoff;
  readonly watchdog: { readonly renewAtFraction: number } | false;
  readonly driftFactor: number;
  readonly marginMs: number;
  readonly releaseTimeoutMs: number;
  /** Timers (and, when given by the caller, the monotonic time source). */
  readonly clock: Clock;
  /** Monotonic milliseconds: the injected clock when given, else `performance.now()`. */
  readonly now: () => number;
}

const defaultRetry = () => exponential({ initialMs: 10, maxMs: 500, jitter: 'full' });
const monotonic = () => performance.now();

/**
 * @internal
 * Turn parsed locker options into settings (defaults for retry and clock).
 */
export function lockerSettings(parsed: z.output<typeof lockerOptionsSchema>): LockerSettings {
  const clock = parsed.clock ?? systemClock;
  // A caller's clock is the whole time source (tests drive it); the system clock's
  // Date.now() can jump, so deadlines then use the monotonic performance.now().
  const now = parsed.clock === undefined ? monotonic : () => clock.now();
  return {
    name: parsed.name,
    ttlMs: parsed.ttlMs,
    waitMs: parsed.waitMs,
    retry: parsed.retry ?? defaultRetry(),
    watchdog: parsed.watchdog,
    driftFactor: parsed.driftFactor,
    marginMs: parsed.marginMs,
    releaseTimeoutMs: parsed.releaseTimeoutMs,
    clock,
    now,
  };
}

/** @internal One acquisition's settings, after the per-call options were checked. */
export interface AcquireSettings {
  readonly ttlMs: number;
  readonly waitMs: number;
  readonly retry: Backoff;
  readonly signal: AbortSignal | undefined;
  readonly watchdog: { readonly renewAtFraction: number } | false;
}

const ACQUIRE_KEYS = new Set(['ttlMs', 'waitMs', 'retry', 'signal', 'watchdog']);
const TRY_KEYS = new Set(['ttlMs', 'signal', 'watchdog']);

/** @internal Check a lock key: a non-empty string of at most {@link MAX_KEY_LENGTH} characters. */
export function checkKey(key: unknown): string {
  if (typeof key !== 'string' || key.length === 0) {
    throw new InvalidArgumentError('key', 'must be a non-empty string');
  }
  if (key.length > MAX_KEY_LENGTH) {
    throw new InvalidArgumentError('key', `must be at most ${MAX_KEY_LENGTH} characters`);
  }
  return key;
}

/** The local deadline of a lock held for `ttlMs`: ttl − drift − margin, in ms after the renewal start. */
export function validityMs(settings: LockerSettings, ttlMs: number): number {
  return ttlMs - (settings.driftFactor * ttlMs + 2) - settings.marginMs;
}

/** @internal Check `ttlMs` (leaves a positive local deadline). */
export function checkTtl(settings: LockerSettings, ttlMs: unknown, argument: string): number {
  if (
    typeof ttlMs !== 'number' ||
    !Number.isInteger(ttlMs) ||
    ttlMs < 1 ||
    ttlMs > MAX_DURATION_MS
  ) {
    throw new InvalidArgumentError(argument, `must be an integer from 1 to ${MAX_DURATION_MS} ms`);
  }
  if (validityMs(settings, ttlMs) <= 0) {
    throw new InvalidArgumentError(
      argument,
      `${ttlMs} ms leaves no time once drift (driftFactor·ttl + 2 ms) and marginMs (${settings.marginMs}) are taken off`,
    );
  }
  return ttlMs;
}

/**
 * @internal
 * Check the per-call options of acquire (`waiting`) or tryAcquire/using: unknown fields,
 * types and ranges all throw `InvalidArgumentError` before anything happens.
 */
export function acquireSettings(
  settings: LockerSettings,
  options: AcquireOptions | undefined,
  waiting: boolean,
): AcquireSettings {
  if (options === undefined) {
    return {
      ttlMs: checkTtl(settings, settings.ttlMs, 'ttlMs'),
      waitMs: waiting ? settings.waitMs : 0,
      retry: settings.retry,
      signal: undefined,
      watchdog: settings.watchdog,
    };
  }
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new InvalidArgumentError('options', 'must be an object');
  }
  const known = waiting ? ACQUIRE_KEYS : TRY_KEYS;
  for (const field in options) {
    if (!known.has(field)) {
      throw new InvalidArgumentError(`options.${field}`, 'is not a known option');
    }
  }
  const ttlMs = checkTtl(settings, options.ttlMs ?? settings.ttlMs, 'options.ttlMs');
  let waitMs = 0;
  if (waiting) {
    waitMs = options.waitMs ?? settings.waitMs;
    if (typeof waitMs !== 'number' || !Number.isFinite(waitMs) || waitMs < 0) {
      throw new InvalidArgumentError('options.waitMs', 'must be a finite number >= 0');
    }
    waitMs = Math.min(waitMs, MAX_DURATION_MS);
  }
  const retry = waiting && options.retry !== undefined ? options.retry : settings.retry;
  if (!backoffSchema.safeParse(retry).success) {
    throw new InvalidArgumentError('options.retry', 'must be a Backoff, e.g. exponential()');
  }
  const signal = checkSignal(options.signal, 'options.signal');
  let watchdog = settings.watchdog;
  if (options.watchdog !== undefined) {
    const parsed = watchdogSchema.safeParse(options.watchdog);
    if (!parsed.success) {
      throw new InvalidArgumentError(
        'options.watchdog',
        'must be false or { renewAtFraction } with 0 < renewAtFraction < 1',
      );
    }
    watchdog = parsed.data;
  }
  return { ttlMs, waitMs, retry, signal, watchdog };
}
