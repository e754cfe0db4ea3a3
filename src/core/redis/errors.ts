import { GirderError } from '../errors.js';

/**
 * Why Redis could not answer; see {@link RedisUnavailableError}.
 *
 * @example
 * ```ts
 * import type { RedisUnavailableReason } from 'girder/core';
 *
 * const changedNothing = (reason: RedisUnavailableReason) =>
 *   reason === 'expired' || reason === 'disconnected' || reason === 'closed';
 * ```
 */
export type RedisUnavailableReason =
  /** No reply within `commandTimeoutMs`. */
  | 'timeout'
  /** The script reached Redis after its deadline and refused to change anything. */
  | 'expired'
  /** The client is not connected (`reconnecting`, `close`...): failed without sending. */
  | 'disconnected'
  /** The client was ended (`quit()`/`disconnect()`): it will never answer again. */
  | 'closed'
  /** Redis answered with an availability error (LOADING, BUSY, CLUSTERDOWN, OOM...) or the connection broke. */
  | 'error';

/**
 * Redis could not answer (code `REDIS_UNAVAILABLE`): a store outage. `reason` says how.
 * After `expired` and `disconnected` nothing was changed on the server. After `timeout`
 * the command either never runs, or (scripts) runs and refuses because its deadline has
 * passed; only a script that ran before its deadline and whose reply was lost on the way
 * back may have applied (see docs/core.md).
 *
 * @example
 * ```ts
 * import { RedisUnavailableError } from 'girder/core';
 *
 * try {
 *   await runner.eval(script, [key], []);
 * } catch (err) {
 *   if (err instanceof RedisUnavailableError && err.reason === 'expired') retryLater();
 * }
 * ```
 */
export class RedisUnavailableError extends GirderError {
  /** How Redis was unavailable. */
  readonly reason: RedisUnavailableReason;

  constructor(reason: RedisUnavailableReason, message: string, options?: { cause?: unknown }) {
    super('REDIS_UNAVAILABLE', message, options);
    this.reason = reason;
  }
}

/**
 * Redis ran the command (or script) and refused it (code `REDIS_COMMAND_ERROR`): a bad
 * argument, a Lua error, a key of the wrong type. Redis is healthy, so this is never a
 * store outage; retrying the same call fails the same way.
 *
 * @example
 * ```ts
 * import { isGirderError } from 'girder/core';
 *
 * runner.eval(script, [key], ['not-a-number']).catch((err) => {
 *   if (isGirderError(err, 'REDIS_COMMAND_ERROR')) console.error('bug in the caller', err);
 * });
 * ```
 */
export class RedisCommandError extends GirderError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('REDIS_COMMAND_ERROR', message, options);
  }
}

/** Reply-error prefixes that mean "Redis cannot serve now", not "your command is wrong". */
const UNAVAILABLE_PREFIXES = [
  'LOADING',
  'BUSY',
  'CLUSTERDOWN',
  'TRYAGAIN',
  'MASTERDOWN',
  'READONLY',
  'OOM',
  'MISCONF',
  'NOREPLICAS',
  'NOSCRIPT',
  'MOVED',
  'ASK',
];

/** The sentinel error reply of the deadline prologue (see `redisScript`). */
export const EXPIRED_REPLY = 'GIRDER_EXPIRED';

/**
 * Classify an error from an ioredis call: errors girder already typed pass through;
 * Redis' reply errors that mean a bad command, argument or script become
 * {@link RedisCommandError}; everything else (connection errors, LOADING, BUSY,
 * CLUSTERDOWN, OOM...) becomes {@link RedisUnavailableError}.
 *
 * @example
 * ```ts
 * import { classifyRedisError } from 'girder/core';
 *
 * const typed = classifyRedisError(await client.call('INCRBY', 'k', 'x').catch((e) => e));
 * typed.code; // 'REDIS_COMMAND_ERROR'
 * ```
 */
export function classifyRedisError(error: unknown): RedisUnavailableError | RedisCommandError {
  if (error instanceof RedisUnavailableError || error instanceof RedisCommandError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (message.startsWith(EXPIRED_REPLY)) {
    return new RedisUnavailableError(
      'expired',
      'the script reached Redis after its deadline and changed nothing',
      { cause: error },
    );
  }
  const isReply = error instanceof Error && error.name === 'ReplyError';
  if (
    isReply &&
    !UNAVAILABLE_PREFIXES.some((p) => message.startsWith(p)) &&
    !message.startsWith('ERR max number of clients')
  ) {
    return new RedisCommandError(`redis refused the command: ${message}`, { cause: error });
  }
  return new RedisUnavailableError('error', `redis call failed: ${message}`, { cause: error });
}

/** Whether `error` is Redis' NOSCRIPT reply (the server does not know the script's SHA). */
export function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT');
}
