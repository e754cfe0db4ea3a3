// Internal: one round trip of the runner, as one object. It is at once the deadline
// entry, the holder of the caller's promise and of the reply callbacks, so a call costs
// one object, one promise and the two reaction closures of the client's promise; the
// previous form (a promise executor, a timeout closure and reactions capturing a context)
// allocated about twice as much per command on the lock and queue hot paths.
import { Pending } from './deadlines.js';
import {
  classifyRedisError,
  isNoScript,
  type RedisCommandError,
  type RedisUnavailableError,
} from './errors.js';
import type { RedisScript } from './script.js';

/** A typed Redis failure. */
export type RedisFailure = RedisUnavailableError | RedisCommandError;

/** What a call needs from its runner. */
export interface CallHost {
  /** Start tracking the call's deadline (nothing when the runner has none). */
  track(call: Pending): void;
  /** The call was answered: stop tracking it. */
  untrack(call: Pending): void;
  /** The error of a call not answered in time. */
  timeoutError(): RedisUnavailableError;
  /** Send `EVAL source` with the rest of `list` after its SHA (the NOSCRIPT fallback). */
  sendEval(script: RedisScript, list: readonly (string | number)[]): Promise<unknown>;
}

type Resolve = (value: unknown) => void;
type Reject = (error: unknown) => void;
// A new promise's resolvers, captured without a closure per call: a promise executor
// runs synchronously inside the constructor, so the slots are read right after it.
let resolveSlot: Resolve | undefined;
let rejectSlot: Reject | undefined;
const capture = (resolve: Resolve, reject: Reject): void => {
  resolveSlot = resolve;
  rejectSlot = reject;
};

/**
 * One command or script call. `promise` resolves with `onReply(reply)`, or with
 * `onError(typedError)` on any failure: a refusal, an outage, the deadline passing, a
 * throwing `onReply`. When `onError` throws, `promise` rejects with what it threw.
 */
export class RedisCall<R, C = undefined> extends Pending {
  readonly promise: Promise<R>;
  readonly #resolve: Resolve;
  readonly #reject: Reject;
  readonly #host: CallHost;
  /** Set for EVALSHA calls: NOSCRIPT then retries with EVAL of this script. */
  readonly #script: RedisScript | undefined;
  readonly #list: readonly (string | number)[];
  readonly #onReply: (reply: unknown, context: C) => R;
  readonly #onError: (error: RedisFailure, context: C) => R | Promise<R>;
  /** The callbacks' second argument (lets them be shared functions, not closures). */
  readonly #context: C;

  constructor(
    host: CallHost,
    script: RedisScript | undefined,
    list: readonly (string | number)[],
    onReply: (reply: unknown, context: C) => R,
    onError: (error: RedisFailure, context: C) => R | Promise<R>,
    context: C,
  ) {
    super();
    this.promise = new Promise<R>(capture as never);
    this.#resolve = resolveSlot!;
    this.#reject = rejectSlot!;
    this.#host = host;
    this.#script = script;
    this.#list = list;
    this.#onReply = onReply;
    this.#onError = onError;
    this.#context = context;
  }

  /** Follow `sent`, the client's promise, under the runner's deadline. */
  start(sent: Promise<unknown>): Promise<R> {
    this.#host.track(this);
    sent.then(
      (reply) => this.#answered(reply),
      (error: unknown) => this.#failed(error),
    );
    return this.promise;
  }

  /** Settle at once with `error` (the call was never sent). */
  fail(error: RedisFailure): Promise<R> {
    this.settled = true;
    this.#settleWithError(error);
    return this.promise;
  }

  expire(): void {
    this.#settleWithError(this.#host.timeoutError());
  }

  #answered(reply: unknown): void {
    if (this.settled) return; // timed out before the reply came
    this.settled = true;
    this.#host.untrack(this);
    let value: R;
    try {
      value = this.#onReply(reply, this.#context);
    } catch (error) {
      this.#settleWithError(classifyRedisError(error));
      return;
    }
    this.#resolve(value);
  }

  #failed(error: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.#host.untrack(this);
    const script = this.#script;
    if (script !== undefined && isNoScript(error)) {
      // The server (on Cluster: the key's node) lost its script cache: EVAL loads it,
      // as a command of its own with its own deadline.
      const retry = new RedisCall(
        this.#host,
        undefined,
        this.#list,
        this.#onReply,
        this.#onError,
        this.#context,
      );
      this.#resolve(retry.start(this.#host.sendEval(script, this.#list)));
      return;
    }
    this.#settleWithError(classifyRedisError(error));
  }

  #settleWithError(error: RedisFailure): void {
    try {
      this.#resolve(this.#onError(error, this.#context));
    } catch (thrown) {
      this.#reject(thrown);
    }
  }
}
