import { createHash } from 'node:crypto';
import { InvalidArgumentError } from '../errors.js';
import { EXPIRED_REPLY } from './errors.js';

/**
 * The prologue every girder script starts with. The runner appends one argument to
 * ARGV: the server time (ms) after which the script must not change anything, or 0 for
 * "no deadline". The prologue removes it (so the body sees exactly the arguments its
 * caller passed) and answers the `GIRDER_EXPIRED` error reply, before any write, when
 * the server's clock (`TIME`) is past it: a call the client already reported as failed
 * never takes effect later (a Redis stall, SIGSTOP, a long script ahead in the queue).
 */
export const DEADLINE_PROLOGUE = `local __girder_deadline = tonumber(table.remove(ARGV))
if __girder_deadline > 0 then
  local __girder_t = redis.call('TIME')
  if __girder_t[1] * 1000 + __girder_t[2] / 1000 > __girder_deadline then
    return redis.error_reply('${EXPIRED_REPLY} server time ' .. __girder_t[1] .. '.' .. __girder_t[2])
  end
end
`;

/**
 * A Lua script of girder's one script registry: its source with the deadline prologue,
 * and the SHA1 EVALSHA sends. Build it once at module level with {@link redisScript}
 * and run it with a `redisRunner`.
 *
 * @example
 * ```ts
 * import { redisScript } from 'girder/core';
 *
 * const INCR_TTL = redisScript(`local n = redis.call('INCR', KEYS[1])
 * redis.call('PEXPIRE', KEYS[1], ARGV[1])
 * return n`);
 * INCR_TTL.sha; // what EVALSHA sends; equals SCRIPT LOAD's answer for INCR_TTL.source
 * ```
 */
export interface RedisScript {
  /** The body as given, without the prologue. */
  readonly body: string;
  /** What EVAL sends: the deadline prologue (unless `deadline` is false) followed by the body. */
  readonly source: string;
  /**
   * Whether the script carries the deadline prologue, so the runner appends the deadline
   * argument. False for scripts registered with `{ deadline: false }`.
   */
  readonly deadline: boolean;
  /** SHA1 of `source` in hex, as `SCRIPT LOAD` answers it. */
  readonly sha: string;
}

/**
 * Options of {@link redisScript}.
 *
 * @example
 * ```ts
 * import { type RedisScriptOptions, redisScript } from 'girder/core';
 *
 * const options: RedisScriptOptions = { deadline: false };
 * const TOUCH = redisScript(`return redis.call('PEXPIRE', KEYS[1], ARGV[1])`, options);
 * ```
 */
export interface RedisScriptOptions {
  /**
   * Prepend the deadline prologue (default true). Pass false only for a script whose late
   * arrival is harmless, e.g. a token-checked lock step whose effects the caller bounds
   * by other means: the script then pays no `TIME` call, and the runner sends no
   * deadline argument and needs no server clock estimate for it.
   */
  deadline?: boolean;
}

// Keyed by body, and by a leading marker for scripts without the prologue.
const registry = new Map<string, RedisScript>();
const NO_DEADLINE = '\0nodeadline\0';

/**
 * Register a Lua script. The body reads `KEYS` and `ARGV` as usual (the deadline
 * argument is already removed) and must do every write after its reads, as any
 * Redis script should. Scripts with the same body (and options) are one object.
 *
 * @example
 * ```ts
 * import { redisRunner, redisScript } from 'girder/core';
 *
 * const GET_OR_INIT = redisScript(`return redis.call('SET', KEYS[1], ARGV[1], 'NX', 'GET')`);
 * const runner = redisRunner(redis);
 * const previous = await runner.eval(GET_OR_INIT, ['{app:k}'], ['1']);
 * ```
 */
export function redisScript(body: string, options?: RedisScriptOptions): RedisScript {
  if (options !== undefined) {
    if (options === null || typeof options !== 'object') {
      throw new InvalidArgumentError('options', 'must be an object');
    }
    for (const field of Object.keys(options)) {
      if (field !== 'deadline') {
        throw new InvalidArgumentError(`options.${field}`, 'is not a known option');
      }
    }
  }
  const deadline = options?.deadline ?? true;
  if (typeof deadline !== 'boolean') {
    throw new InvalidArgumentError('options.deadline', 'must be a boolean');
  }
  const id = deadline ? body : NO_DEADLINE + body;
  let script = registry.get(id);
  if (script === undefined) {
    const source = deadline ? DEADLINE_PROLOGUE + body : body;
    const sha = createHash('sha1').update(source).digest('hex');
    script = Object.freeze({ body, source, sha, deadline });
    registry.set(id, script);
  }
  return script;
}

/**
 * Every script registered so far (for tests: each SHA must equal `SCRIPT LOAD`'s answer).
 *
 * @example
 * ```ts
 * import { registeredRedisScripts } from 'girder/core';
 *
 * for (const script of registeredRedisScripts()) {
 *   console.assert((await redis.call('SCRIPT', 'LOAD', script.source)) === script.sha);
 * }
 * ```
 */
export function registeredRedisScripts(): RedisScript[] {
  return [...registry.values()];
}
