import { channel } from 'node:diagnostics_channel';
import { z } from 'zod';
import { parseOptions } from '../options.js';
import { type CallHost, RedisCall, type RedisFailure } from './call.js';
import { checkRedisClient, type RedisClient } from './client.js';
import { Deadlines, noop, type Pending } from './deadlines.js';
import { classifyRedisError, type RedisCommandError, RedisUnavailableError } from './errors.js';
import type { RedisScript } from './script.js';
import { ServerClock } from './server-clock.js';
import { type TickWriter, tickWriter } from './tick-writer.js';

/**
 * Options of {@link redisRunner}.
 *
 * @example
 * ```ts
 * import { type RedisRunnerOptions, redisRunner } from 'girder/core';
 *
 * const options: RedisRunnerOptions = { name: 'locks', commandTimeoutMs: 300, clockSkewMs: 20 };
 * const runner = redisRunner(redis, options);
 * ```
 */
export interface RedisRunnerOptions {
  /** Name used in error messages. Default `redis`. */
  name?: string;
  /**
   * A command not answered within this many ms rejects with `RedisUnavailableError`
   * (reason `timeout`), and a script reaching Redis after that (server clock) refuses to
   * change anything (reason `expired`). 0 disables both. Default 1 000.
   */
  commandTimeoutMs?: number;
  /**
   * Allowance for the server clock running behind the estimate between two probes
   * (drift, small NTP steps), ms: script deadlines are moved this much earlier. Default 10.
   */
  clockSkewMs?: number;
  /** How often the server clock offset is re-measured with `TIME`, ms. Default 30 000. */
  clockProbeIntervalMs?: number;
  /**
   * On an ioredis `Redis` (not `Cluster`): send each command with the client's
   * `sendCommand`, and write every command issued in one tick (synchronous code and its
   * microtasks) to the socket at once, corking it until the tick ends. This batches like
   * auto-pipelining at a third of its CPU cost per command, and never reorders: while
   * commands of the client's own methods wait in its auto-pipeline, the runner's go the
   * same way. `false` sends through the client's methods (auto-pipelined when the client
   * enables it). Default true.
   */
  batchWrites?: boolean;
}

const schema = z.strictObject({
  name: z.string().min(1).default('redis'),
  commandTimeoutMs: z.number().int().min(0).max(86_400_000).default(1_000),
  clockSkewMs: z.number().int().min(0).max(60_000).default(10),
  clockProbeIntervalMs: z.number().int().min(100).max(86_400_000).default(30_000),
  batchWrites: z.boolean().default(true),
});

/**
 * girder's one way to talk to Redis: scripts by EVALSHA with an EVAL fallback on
 * NOSCRIPT (per node on Cluster), a deadline on every command, fast failure while the
 * client is not connected, and typed errors ({@link RedisUnavailableError} for outages,
 * {@link RedisCommandError} for bad commands or arguments). It does not own the client:
 * `close()` stops its timers only.
 *
 * @example
 * ```ts
 * import { Redis } from 'ioredis';
 * import { redisKey, redisRunner, redisScript } from 'girder/core';
 *
 * const HIT = redisScript(`local n = redis.call('INCR', KEYS[1])
 * redis.call('PEXPIRE', KEYS[1], ARGV[1])
 * return n`);
 * const runner = redisRunner(new Redis({ enableAutoPipelining: true }), { commandTimeoutMs: 500 });
 * const hits = await runner.eval(HIT, [redisKey('app:hits', 'home')], [60_000]);
 * ```
 */
export interface RedisRunner {
  /** Name used in error messages. */
  readonly name: string;
  /** The client commands go through. */
  readonly client: RedisClient;
  /** The per-command deadline, ms (0: none). */
  readonly commandTimeoutMs: number;
  /**
   * Run `script` with `KEYS = keys`, `ARGV = args`. Rejects with
   * {@link RedisUnavailableError} or {@link RedisCommandError}.
   */
  eval(
    script: RedisScript,
    keys: readonly string[],
    args: readonly (string | number)[],
  ): Promise<unknown>;
  /**
   * The callback form of `eval`, which saves the caller a promise per call: resolves
   * with `onReply(reply)`, or with `onError(typedError)` on any failure (including a
   * throwing `onReply` and the deadline passing). When `onError` throws, the promise
   * rejects with what it threw. `context` is handed to both callbacks as their second
   * argument, so they can be module-level functions instead of closures made per call.
   */
  evalKeys<R, C = undefined>(
    script: RedisScript,
    keys: readonly string[],
    args: readonly (string | number)[],
    onReply: (reply: unknown, context: C) => R,
    onError: (error: RedisUnavailableError | RedisCommandError, context: C) => R | Promise<R>,
    context?: C,
  ): Promise<R>;
  /**
   * `evalKeys` for one key and one or two arguments, without the two arrays: resolves
   * with `onReply(reply)`, or with `onError(typedError)` on any failure (including a
   * throwing `onReply`). When `onError` throws, the promise rejects with what it threw.
   * `context` is handed to both callbacks as their second argument.
   */
  evalKey<R, C = undefined>(
    script: RedisScript,
    key: string,
    arg1: string,
    arg2: string | undefined,
    onReply: (reply: unknown, context: C) => R,
    onError: (error: RedisUnavailableError | RedisCommandError, context: C) => R | Promise<R>,
    context?: C,
  ): Promise<R>;
  /** Send one plain command under the deadline, with the same typed errors. */
  command(command: string, ...args: (string | number)[]): Promise<unknown>;
  /** Stop the runner's timers; pending calls time out and later calls reject (reason `closed`). */
  close(): void;
  /** Same as `close()`. */
  [Symbol.asyncDispose](): Promise<void>;
}

const toTyped = (error: unknown) => classifyRedisError(error);

/**
 * @internal
 * One Redis round trip as published on `node:diagnostics_channel`: the same object goes
 * to {@link REDIS_COMMAND_START} before the call and to {@link REDIS_COMMAND_END} when it
 * settles, so a subscriber (girder/observability's tracing) can hang its span on it.
 */
export interface RedisCommandMessage {
  /** The runner's `name`. */
  readonly runner: string;
  /** `EVALSHA` for scripts, else the command sent. */
  readonly command: string;
  /** The first key, when the call names keys. */
  readonly key: string | undefined;
  /** Set before the end message when the call failed (or answered through `onError`). */
  error?: unknown;
  /** Subscribers' own state (e.g. a span). */
  [slot: symbol]: unknown;
}

/** @internal Channel name of {@link RedisCommandMessage}s before each round trip. */
export const REDIS_COMMAND_START = 'girder.redis.command.start';
/** @internal Channel name of {@link RedisCommandMessage}s after each round trip. */
export const REDIS_COMMAND_END = 'girder.redis.command.end';
// With no subscriber a call pays one `hasSubscribers` read.
const startChannel = channel(REDIS_COMMAND_START);
const endChannel = channel(REDIS_COMMAND_END);

function traced<T>(message: RedisCommandMessage, call: Promise<T>): Promise<T> {
  startChannel.publish(message);
  return call.then(
    (value) => {
      endChannel.publish(message);
      return value;
    },
    (error: unknown) => {
      message.error ??= error;
      endChannel.publish(message);
      throw error;
    },
  );
}

const same = (reply: unknown): unknown => reply;
const throwIt = (error: RedisFailure): never => {
  throw error;
};

class Runner implements RedisRunner, CallHost {
  readonly name: string;
  readonly client: RedisClient;
  readonly commandTimeoutMs: number;
  readonly #skewMs: number;
  readonly #deadlines: Deadlines;
  readonly #clock: ServerClock;
  // ioredis' own `evalsha` skips the argument shuffling `call` does (and, with
  // auto-pipelining, does twice); a duck-typed client without it gets `call`.
  readonly #evalsha: boolean;
  // Set on an ioredis `Redis` unless `batchWrites: false`: the cheaper way to send.
  readonly #writer: TickWriter | undefined;
  #everReady = false;
  #closed = false;
  // The deadline argument of the current tick (calls in one tick share it).
  #argAt = Number.NaN;
  #arg = '';

  constructor(client: RedisClient, options: z.output<typeof schema>) {
    this.client = client;
    this.name = options.name;
    this.commandTimeoutMs = options.commandTimeoutMs;
    this.#skewMs = options.clockSkewMs;
    this.#evalsha = typeof client.evalsha === 'function';
    this.#writer = options.batchWrites ? tickWriter(client) : undefined;
    this.#deadlines = new Deadlines(options.commandTimeoutMs);
    this.#clock = new ServerClock(client, options.commandTimeoutMs, options.clockProbeIntervalMs);
    if (client.status === 'ready' && this.commandTimeoutMs > 0) this.#clock.probe().catch(noop);
  }

  #statusError(): RedisUnavailableError | undefined {
    if (this.#closed) return new RedisUnavailableError('closed', `${this.name} runner was closed`);
    const status = this.client.status;
    if (status === 'ready') {
      this.#everReady = true;
      return undefined;
    }
    if (status === 'end') {
      return new RedisUnavailableError(
        'closed',
        `the ${this.name} client has ended (quit/disconnect was called)`,
      );
    }
    // Before the first connection commands may wait in the client's queue (bounded by the
    // deadline); after it, a client that is not ready is in an outage: fail fast instead of
    // piling up behind the offline queue.
    if (this.#everReady || status === 'reconnecting' || status === 'close') {
      return new RedisUnavailableError(
        'disconnected',
        `${this.name} client is not connected (status "${status}")`,
      );
    }
    return undefined;
  }

  /** The deadline argument: server ms after which scripts refuse, '0' for none. */
  #deadlineArg(): string {
    if (this.commandTimeoutMs === 0) return '0';
    const now = this.#deadlines.now();
    if (now === this.#argAt && this.#arg !== '') return this.#arg; // same tick, same deadline
    const clock = this.#clock;
    if (clock.stale(now)) clock.probe().catch(noop);
    this.#argAt = now;
    this.#arg = String(Math.floor(now + this.commandTimeoutMs + clock.offset! - this.#skewMs));
    return this.#arg;
  }

  /** Whether the call must wait for the first clock probe. */
  #needsProbe(): boolean {
    return this.commandTimeoutMs > 0 && this.#clock.offset === undefined;
  }

  /** @internal CallHost: deadlines of calls. */
  track(call: Pending): void {
    if (this.commandTimeoutMs > 0) this.#deadlines.track(call);
  }

  /** @internal CallHost: a call was answered. */
  untrack(call: Pending): void {
    this.#deadlines.untrack(call);
  }

  /** @internal CallHost: the error of a call not answered in time. */
  timeoutError(): RedisUnavailableError {
    return new RedisUnavailableError(
      'timeout',
      `${this.name} did not answer within ${this.commandTimeoutMs} ms`,
    );
  }

  /** @internal CallHost: the NOSCRIPT fallback (`list` starts with the script's SHA). */
  sendEval(script: RedisScript, list: readonly (string | number)[]): Promise<unknown> {
    const evalList = list.slice();
    evalList[0] = script.source;
    return this.#writer?.send('eval', evalList) ?? this.client.call('EVAL', ...evalList);
  }

  /** `list`: the script's SHA, the key count, the keys and the arguments. */
  #sendSha(list: readonly (string | number)[]): Promise<unknown> {
    const sent = this.#writer?.send('evalsha', list);
    if (sent !== undefined) return sent;
    const client = this.client;
    return this.#evalsha
      ? client.evalsha!(...(list as [string, ...(string | number)[]]))
      : client.call('EVALSHA', ...list);
  }

  eval(
    script: RedisScript,
    keys: readonly string[],
    args: readonly (string | number)[],
  ): Promise<unknown> {
    return this.evalKeys(script, keys, args, same, throwIt);
  }

  evalKeys<R, C = undefined>(
    script: RedisScript,
    keys: readonly string[],
    args: readonly (string | number)[],
    onReply: (reply: unknown, context: C) => R,
    onError: (error: RedisFailure, context: C) => R | Promise<R>,
    context?: C,
  ): Promise<R> {
    if (!startChannel.hasSubscribers) {
      return this.#evalKeys(script, keys, args, onReply, onError, context as C);
    }
    const message: RedisCommandMessage = { runner: this.name, command: 'EVALSHA', key: keys[0] };
    return traced(
      message,
      this.#evalKeys(script, keys, args, onReply, failedWith(message, onError), context as C),
    );
  }

  #evalKeys<R, C>(
    script: RedisScript,
    keys: readonly string[],
    args: readonly (string | number)[],
    onReply: (reply: unknown, context: C) => R,
    onError: (error: RedisFailure, context: C) => R | Promise<R>,
    context: C,
  ): Promise<R> {
    if (this.client.status !== 'ready' || this.#closed) {
      const error = this.#statusError();
      if (error !== undefined) {
        return new RedisCall(this, script, [], onReply, onError, context).fail(error);
      }
    }
    if (script.deadline && this.#needsProbe()) {
      return this.#clock.probe().then(
        () => this.#evalKeys(script, keys, args, onReply, onError, context),
        (e: unknown) => new RedisCall(this, script, [], onReply, onError, context).fail(toTyped(e)),
      );
    }
    // Sized once: growing a literal by push re-allocated its backing store twice per call.
    const nKeys = keys.length;
    const nArgs = args.length;
    const list = new Array<string | number>(2 + nKeys + nArgs + (script.deadline ? 1 : 0));
    list[0] = script.sha;
    list[1] = nKeys;
    for (let i = 0; i < nKeys; i++) list[2 + i] = keys[i]!;
    for (let i = 0; i < nArgs; i++) list[2 + nKeys + i] = args[i]!;
    if (script.deadline) list[2 + nKeys + nArgs] = this.#deadlineArg();
    const call = new RedisCall(this, script, list, onReply, onError, context);
    return call.start(this.#sendSha(list));
  }

  evalKey<R, C = undefined>(
    script: RedisScript,
    key: string,
    arg1: string,
    arg2: string | undefined,
    onReply: (reply: unknown, context: C) => R,
    onError: (error: RedisFailure, context: C) => R | Promise<R>,
    context?: C,
  ): Promise<R> {
    if (!startChannel.hasSubscribers) {
      return this.#evalKey(script, key, arg1, arg2, onReply, onError, context as C);
    }
    const message: RedisCommandMessage = { runner: this.name, command: 'EVALSHA', key };
    return traced(
      message,
      this.#evalKey(script, key, arg1, arg2, onReply, failedWith(message, onError), context as C),
    );
  }

  #evalKey<R, C>(
    script: RedisScript,
    key: string,
    arg1: string,
    arg2: string | undefined,
    onReply: (reply: unknown, context: C) => R,
    onError: (error: RedisFailure, context: C) => R | Promise<R>,
    context: C,
  ): Promise<R> {
    if (this.client.status !== 'ready' || this.#closed) {
      const error = this.#statusError();
      if (error !== undefined) {
        return new RedisCall(this, script, [], onReply, onError, context).fail(error);
      }
    }
    if (script.deadline && this.#needsProbe()) {
      return this.#clock.probe().then(
        () => this.#evalKey(script, key, arg1, arg2, onReply, onError, context),
        (e: unknown) => new RedisCall(this, script, [], onReply, onError, context).fail(toTyped(e)),
      );
    }
    // Scripts without the prologue take no deadline argument: `arg2` then ends the list.
    const sha = script.sha;
    const list: (string | number)[] =
      arg2 === undefined ? [sha, 1, key, arg1] : [sha, 1, key, arg1, arg2];
    if (script.deadline) list.push(this.#deadlineArg());
    const call = new RedisCall(this, script, list, onReply, onError, context);
    return call.start(this.#sendSha(list));
  }

  command(command: string, ...args: (string | number)[]): Promise<unknown> {
    if (!startChannel.hasSubscribers) return this.#command(command, args);
    const message: RedisCommandMessage = {
      runner: this.name,
      command,
      key: args.length > 0 ? String(args[0]) : undefined,
    };
    return traced(message, this.#command(command, args));
  }

  #command(command: string, args: readonly (string | number)[]): Promise<unknown> {
    const call = new RedisCall(this, undefined, args, same, throwIt, undefined);
    if (this.client.status !== 'ready' || this.#closed) {
      const error = this.#statusError();
      if (error !== undefined) return call.fail(error);
    }
    return call.start(this.#writer?.send(command, args) ?? this.client.call(command, ...args));
  }

  close(): void {
    this.#closed = true;
    this.#deadlines.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }
}

/** `onError` that also records the error on the trace message. */
function failedWith<R, C>(
  message: RedisCommandMessage,
  onError: (error: RedisFailure, context: C) => R | Promise<R>,
): (error: RedisFailure, context: C) => R | Promise<R> {
  return (error, context) => {
    message.error = error;
    return onError(error, context);
  };
}

/**
 * Create a {@link RedisRunner} over your ioredis client (`Redis` or `Cluster`, ioredis 5
 * or 6). Enable `enableAutoPipelining` on the client: concurrent calls then share round
 * trips.
 *
 * @throws InvalidArgumentError when `client` is not a Redis client.
 * @throws InvalidOptionsError for unknown or out-of-range options.
 *
 * @example
 * ```ts
 * import { Cluster } from 'ioredis';
 * import { redisRunner } from 'girder/core';
 *
 * const runner = redisRunner(new Cluster([{ host: '10.0.0.1', port: 7000 }]), {
 *   name: 'sessions',
 *   commandTimeoutMs: 300,
 * });
 * ```
 */
export function redisRunner(client: RedisClient, options: RedisRunnerOptions = {}): RedisRunner {
  checkRedisClient(client);
  return new Runner(client, parseOptions('redisRunner', schema, options));
}
