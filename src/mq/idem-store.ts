// What an idempotency store promises: run a piece of work at most once per business key
// (as far as the store can tell), and say so when it skipped it. Each backend decides
// how the "already done" mark is kept: Redis and memory claim the key before the work
// and mark it after; SQL inserts the mark in the work's own transaction.
import { GirderError, InvalidArgumentError } from '../core/index.js';

/**
 * What the work of {@link IdempotencyStore.once} receives. Stores add their own fields
 * (the SQL store adds `trx`, the transaction holding the mark).
 *
 * @example
 * ```ts
 * await store.once('order-42', async (ctx: IdempotencyContext) => book(ctx.key));
 * ```
 */
export interface IdempotencyContext {
  /** The business key being processed. */
  readonly key: string;
}

/**
 * Runs work once per business key. Backends: `memoryIdempotencyStore` (one process),
 * `redisIdempotencyStore` (claim, then mark; a window remains, see its docs),
 * `sqlIdempotencyStore` (the mark commits with the work: exactly-once effects in SQL).
 *
 * @typeParam C - what the work receives.
 * @example
 * ```ts
 * const ran = await store.once('order-42', async () => book('order-42'));
 * if (!ran) console.log('order-42 was already booked');
 * ```
 */
export interface IdempotencyStore<C extends IdempotencyContext = IdempotencyContext> {
  /** `memory`, `redis` or `sql`. */
  readonly kind: string;
  /**
   * Run `work` unless `key` was already processed. Resolves `true` when it ran and
   * succeeded (the key is now marked), `false` when it was skipped as a duplicate.
   * Rejects with what `work` threw (the key stays unmarked, so a retry runs it), with
   * {@link IdempotencyBusyError} while another caller is processing the same key, or
   * with the store's own error (nothing ran).
   */
  once(key: string, work: (context: C) => Promise<void>, signal?: AbortSignal): Promise<boolean>;
  /** Releases what the store owns (timers); never the client you gave it. */
  close(): Promise<void>;
  /** Same as `close()`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Another consumer is processing the same business key right now (its claim has not
 * expired). Not a failure of the message: let the queue retry it later, when the other
 * consumer has either marked the key done (the retry is then skipped) or released it.
 *
 * @example
 * ```ts
 * try {
 *   await store.once('order-42', work);
 * } catch (err) {
 *   if (err instanceof IdempotencyBusyError) console.log('in progress elsewhere:', err.key);
 * }
 * ```
 */
export class IdempotencyBusyError extends GirderError {
  /** The key being processed elsewhere. */
  readonly key: string;

  constructor(key: string) {
    super('IDEMPOTENCY_BUSY', `key "${key}" is being processed by another consumer`);
    this.key = key;
  }
}

/** Longest business key accepted, in characters. */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 512;

/** @internal Rejects what cannot be a business key, before any state changes. */
export function checkIdempotencyKey(key: unknown, argument = 'key'): string {
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_IDEMPOTENCY_KEY_LENGTH) {
    throw new InvalidArgumentError(
      argument,
      `must be a non-empty string of at most ${MAX_IDEMPOTENCY_KEY_LENGTH} characters`,
    );
  }
  return key;
}

/** @internal */
export function checkWork(work: unknown): void {
  if (typeof work !== 'function') throw new InvalidArgumentError('work', 'must be a function');
}
