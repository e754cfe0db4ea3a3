// Internal: the runner's cheap way to send, on an ioredis `Redis` (not `Cluster`). Each
// command is ioredis' own `Command` handed to the client's public `sendCommand`, and the
// socket is corked until the end of the tick, so every command issued in one run of
// synchronous code and microtasks leaves in one write. Auto-pipelining batches too, but
// wraps each command in a pipeline entry, a second promise and a `nextTick` callback,
// defers the write to `setImmediate`, and keeps one batch in flight at a time: on the
// lock's acquire + release that was two thirds of the client's CPU per operation.
import { girderRequire } from '../girder-require.js';
import type { RedisClient } from './client.js';

/** The part of ioredis' `Command` used here (public in ioredis 5's typings). */
interface IoredisCommand {
  readonly promise: Promise<unknown>;
}

interface CommandOptions {
  replyEncoding: 'utf8';
  keyPrefix?: string;
}

type CommandClass = new (
  name: string,
  args: readonly (string | number)[],
  options: CommandOptions,
) => IoredisCommand;

interface Corkable {
  cork(): void;
  uncork(): void;
}

/** What an ioredis `Redis` has beyond {@link RedisClient}. */
interface IoredisRedis {
  sendCommand(command: IoredisCommand): unknown;
  readonly stream?: Corkable;
  readonly options?: { keyPrefix?: unknown; enableAutoPipelining?: boolean };
  /** ioredis' queue of auto-pipelined commands not yet written (one Map per client). */
  readonly _autoPipelines?: { readonly size: number };
}

interface IoredisModule {
  readonly Redis?: abstract new (...args: never[]) => unknown;
  readonly Command?: CommandClass;
}

let ioredis: IoredisModule | null | undefined;

/**
 * The ioredis girder itself resolves, loaded on first use (girder never imports it
 * statically: it is an optional peer). `null` when there is none.
 */
function loadIoredis(): IoredisModule | null {
  if (ioredis !== undefined) return ioredis;
  try {
    ioredis = girderRequire()('ioredis') as IoredisModule;
  } catch {
    ioredis = null;
  }
  return ioredis;
}

/** Sends commands through `sendCommand`, one socket write per tick. */
export interface TickWriter {
  /**
   * Send `name args`; the reply comes as `call` would give it (strings, not Buffers).
   * Returns undefined when it cannot keep the client's order: commands of the client's
   * own methods are waiting in its auto-pipeline and must go first (send those the
   * client's way then).
   */
  send(name: string, args: readonly (string | number)[]): Promise<unknown> | undefined;
}

/**
 * A {@link TickWriter} for `client`, or undefined unless `client` is a `Redis` of the
 * very ioredis copy girder resolves (so its `Command` class is the client's own) with
 * `sendCommand` and the auto-pipeline queue where ioredis 5 keeps them. A `Cluster`,
 * another copy or version, or a stand-in gets the client's methods instead.
 */
export function tickWriter(client: RedisClient): TickWriter | undefined {
  const module = loadIoredis();
  const Command = module?.Command;
  if (typeof Command !== 'function' || typeof module?.Redis !== 'function') return undefined;
  if (!(client instanceof module.Redis)) return undefined;
  const redis = client as unknown as IoredisRedis;
  if (typeof redis.sendCommand !== 'function') return undefined;
  const keyPrefix = redis.options?.keyPrefix;
  if (keyPrefix !== undefined && typeof keyPrefix !== 'string') return undefined;
  const autoPipelines = redis.options?.enableAutoPipelining === true;
  if (autoPipelines && !(redis._autoPipelines instanceof Map)) return undefined;
  return new Writer(redis, Command, keyPrefix, autoPipelines);
}

class Writer implements TickWriter {
  readonly #redis: IoredisRedis;
  readonly #Command: CommandClass;
  readonly #options: CommandOptions;
  readonly #autoPipelines: boolean;
  #corked: Corkable | undefined;
  readonly #uncork = () => {
    const stream = this.#corked;
    this.#corked = undefined;
    stream?.uncork();
  };

  constructor(
    redis: IoredisRedis,
    Command: CommandClass,
    keyPrefix: string | undefined,
    autoPipelines: boolean,
  ) {
    this.#redis = redis;
    this.#Command = Command;
    // What the client's own methods pass: replies as strings, its key prefix.
    this.#options = keyPrefix ? { replyEncoding: 'utf8', keyPrefix } : { replyEncoding: 'utf8' };
    this.#autoPipelines = autoPipelines;
  }

  send(name: string, args: readonly (string | number)[]): Promise<unknown> | undefined {
    const redis = this.#redis;
    if (this.#autoPipelines && redis._autoPipelines!.size > 0) return undefined;
    if (this.#corked === undefined) {
      const stream = redis.stream;
      if (stream !== undefined && typeof stream.cork === 'function') {
        stream.cork();
        this.#corked = stream;
        // After the microtasks of this tick: a reply handler that resolves a hundred
        // callers gets their next commands into the same write.
        process.nextTick(this.#uncork);
      }
    }
    const command = new this.#Command(name, args, this.#options);
    redis.sendCommand(command);
    return command.promise;
  }
}
